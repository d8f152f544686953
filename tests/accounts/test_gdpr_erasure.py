"""The proof: after erasing a member with rows in every registered model, no text, JSON or file
column anywhere, and no file in MEDIA_ROOT, holds her email or name, except rows the registry
keeps pseudonymised for a stated reason (and the email telling her it is done)."""

import os

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone

from accounts.models import DataRequest
from accounts.services import data_request_farewells_scrub, data_request_process
from bloom.privacy import Erase, privacy_entry_list, privacy_rows
from tests.factories import accounts as af
from tests.factories import appointments as pf
from tests.factories import billing as bf
from tests.factories import content as cf
from tests.factories import courses as crf
from tests.factories import notifications as nf
from tests.factories import workshops as wf

EMAIL = "zephyrine.quillfeather@example.test"
FIRST, LAST = "Zephyrine", "Quillfeather"
NEEDLES = [EMAIL, FIRST, LAST]


def _member_everywhere():
    from allauth.account.models import EmailAddress, EmailConfirmation
    from allauth.mfa.models import Authenticator
    from django.contrib.admin.models import LogEntry
    from djstripe.models import Customer, Event

    member = af.UserFactory(email=EMAIL, first_name=FIRST, last_name=LAST)
    staff = af.StaffUserFactory()
    mention = {"customer_email": EMAIL, "name": f"{FIRST} {LAST}"}
    af.UserProfileFactory(user=member, first_name=FIRST, last_name=LAST, phone="+15550001111") if not hasattr(
        member, "profile"
    ) else None
    af.UserAchievementFactory(user=member)
    af.WellnessEntryFactory(user=member, notes=f"{FIRST} slept badly")
    af.ScreeningResponseFactory(user=member)
    af.MemberScreeningPointFactory(user=member)
    af.MemberPauseFactory(user=member)
    af.CalendarFeedFactory(user=member)
    af.RiskAlertFactory(user=member)
    af.CareAssignmentFactory(user=member)
    af.ConsentRecordFactory(user=member)
    af.SecurityEventFactory(user=member, details={"email": EMAIL})
    af.AdminActivityLogFactory(user=staff, object_repr=EMAIL, changes={"email": EMAIL})
    address = EmailAddress.objects.get_or_create(user=member, email=EMAIL)[0]
    EmailConfirmation.create(address)
    Authenticator.objects.create(user=member, type=Authenticator.Type.TOTP, data={"secret": "x"})
    session = SessionStore()
    session["_auth_user_id"] = str(member.pk)
    session.create()
    LogEntry.objects.create(user=staff, object_id=str(member.pk), object_repr=EMAIL, action_flag=2, change_message="")

    cf.SubscriberSegmentMemberFactory(subscriber=cf.SubscriberFactory(email=EMAIL, first_name=FIRST))
    cf.AnalyticsEventFactory(user=member, properties={"email": EMAIL})
    cf.ContactSubmissionFactory(email=EMAIL, name=f"{FIRST} {LAST}", message=f"I am {FIRST}")
    cf.CareerApplicationFactory(email=EMAIL, full_name=f"{FIRST} {LAST}", cover_letter=f"{FIRST} {LAST}")
    conversation = cf.ChatConversationFactory(user=member, visitor_name=FIRST, visitor_email=EMAIL)
    cf.ChatMessageFactory(conversation=conversation)

    course_user = crf.CourseUserFactory(email=EMAIL, name=f"{FIRST} {LAST}", auth_user=member)
    enrollment = crf.CourseEnrollmentFactory(user=member)
    progress = crf.CourseProgressFactory(user=member, enrollment=enrollment)
    crf.LessonCompletionDetailFactory(progress=progress)
    crf.CourseMilestoneFactory(user=member, enrollment=enrollment)
    crf.CourseActivityLogFactory(user=member, enrollment=enrollment, details={"email": EMAIL})
    crf.CourseCertificateFactory(user=member, enrollment=enrollment, certificate_name=f"{FIRST} {LAST}")
    assert course_user.pk

    workshop_registration = wf.WorkshopRegistrationFactory(user=member)
    wf.WorkshopWaitlistEntryFactory(user=member)
    wf.WorkshopAttendanceFactory(
        user=member, workshop=workshop_registration.workshop, participant_email=EMAIL, participant_name=FIRST
    )
    wf.WorkshopConnectionEventFactory(participant_email=EMAIL, participant_name=f"{FIRST} {LAST}")
    wf.WorkshopFeedbackFactory(user=member, workshop=workshop_registration.workshop, comments=f"{FIRST} loved it")
    wf.UserWorkshopSeriesProgressFactory(user=member)
    wf.ZoomWebhookEventFactory(event_data={"payload": {"object": {"participant": {"email": EMAIL}}}})

    appointment = pf.AppointmentDataFactory(user=member, invitee_email=EMAIL, invitee_name=f"{FIRST} {LAST}")
    note = pf.SessionNoteFactory(appointment=appointment)
    pf.SessionNoteVersionFactory(note=note)
    pf.AppointmentReminderLogFactory(appointment=appointment)
    pf.AppointmentPaymentFactory(user=member, appointment=appointment)
    pf.GoodFaithEstimateFactory(user=member)
    pf.BookingPolicyAcceptanceFactory(user=member)
    pf.BookingLinkFactory(user=member)
    pf.CalendlyWebhookEventFactory(event_data={"payload": {"email": EMAIL, "name": f"{FIRST} {LAST}"}})

    bf.BillingCustomerFactory(user=member)
    bf.PaymentIntentFactory(user=member, metadata=mention)
    bf.RefundRequestFactory(user=member)
    bf.UserPaymentMethodFactory(user=member)
    bf.StripeCheckFactory(params={"email": EMAIL})
    bf.StripeWebhookEventFactory(event_data={"data": {"object": mention}})
    Customer.objects.create(id="cus_zq", email=EMAIL, stripe_data={"email": EMAIL, "name": f"{FIRST} {LAST}"})
    Event.objects.create(
        id="evt_zq", type="customer.updated", data={"object": mention}, stripe_data={"data": {"object": mention}}
    )

    queued = nf.EmailQueueFactory(to_email=EMAIL, user=member, text_body=f"Hello {FIRST}")
    nf.EmailCampaignMetricFactory(email=queued, recipient_email=EMAIL)
    nf.EmailSuppressionFactory(email=EMAIL, reason="unsubscribe", scope="marketing")  # she opted out of news
    nf.EmailAutomationLogFactory(enrollment__user=member)
    nf.UserNotificationFactory(user=member, message=f"Hi {FIRST}")
    return member, staff


def _hits(farewell_key=""):
    """(table, column, row text) for every text/JSON column holding a needle; the queued email
    telling her the erasure is done (its idempotency key) is left out."""
    hits = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
        )
        columns = cursor.fetchall()
        for table, column in columns:
            skip = " AND idempotency_key IS DISTINCT FROM %s" if table == "email_queue" else ""
            for needle in NEEDLES:
                cursor.execute(
                    f'SELECT "{column}"::text FROM "{table}" WHERE "{column}"::text ILIKE %s{skip}',  # noqa: S608
                    [f"%{needle}%", farewell_key] if skip else [f"%{needle}%"],
                )
                hits += [(table, column, row[0]) for row in cursor.fetchall()]
    return hits


def _file_hits():
    hits = []
    for root, _dirs, names in os.walk(settings.MEDIA_ROOT):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                content = handle.read().lower()
            if any(n.lower() in name.lower() or n.lower().encode() in content for n in NEEDLES):
                hits.append(path)
    return hits


@pytest.mark.django_db(transaction=False)
def test_erasing_a_member_everywhere_leaves_her_only_in_kept_rows(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    member, staff = _member_everywhere()
    # Her CV holds her name.
    application = apps.get_model("content.CareerApplication").objects.get(email=EMAIL)
    with open(application.cv.path, "wb") as cv:
        cv.write(f"CV of {FIRST} {LAST}".encode())

    request_row = af.DataRequestFactory(user=member, kind="delete")

    # She has rows in every registered model (dj-stripe: the customer and an event stand for the
    # mirror; the ledger holds ids only, never text about her: tests/bloom/test_ledger.py).
    empty = [
        e.model
        for e in privacy_entry_list()
        if not e.model.startswith("djstripe.")
        and e.model != "bloom.LedgerEvent"
        and not privacy_rows(e, member=member).exists()
    ]
    assert empty == []
    assert _hits() and _file_hits()

    with django_capture_on_commit_callbacks(execute=True):  # her files go when the erasure commits
        data_request_process(data_request=request_row, staff_user=staff)

    kept_tables = {e.model_class._meta.db_table for e in privacy_entry_list() if e.erase == Erase.KEEP_PSEUDONYMISED}
    # The email telling her it is done goes to her old address (and no other row of the queue).
    leftovers = _hits(farewell_key=f"data-request:{request_row.pk}")
    assert [(t, c) for t, c, _ in leftovers if t not in kept_tables] == []
    # Even kept rows hold her only where the reason needs it: the suppression list's address.
    assert {(t, c) for t, c, _ in leftovers} <= {("email_suppressions", "email")}
    farewell = apps.get_model("notifications.EmailQueue").objects.filter(to_email=EMAIL)
    assert list(farewell.values_list("subject", flat=True)) == ["Your Bloom account has been deleted"]
    # Once it has gone, the last copy of her address goes with it.
    farewell.update(status="sent", sent_at=timezone.now())
    assert data_request_farewells_scrub() == 1
    assert {(t, c) for t, c, _ in _hits()} == {("email_suppressions", "email")}
    assert _file_hits() == []
    assert DataRequest.objects.get(pk=request_row.pk).status == "completed"


@pytest.mark.django_db
def test_a_rolled_back_erasure_keeps_her_files(settings, tmp_path, django_capture_on_commit_callbacks):
    from django.db import transaction

    from accounts.services import member_anonymize

    settings.MEDIA_ROOT = str(tmp_path)
    member = af.UserFactory(email="cv.owner@example.test")
    application = cf.CareerApplicationFactory(email=member.email)
    path = application.cv.path

    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom), transaction.atomic():
        member_anonymize(member=member)
        raise Boom
    assert os.path.exists(path)
