"""Retention per category (docs/operations.md "Retention"): each policy removes or redacts only rows past its limit."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import (
    AdminActivityLog,
    AdminSession,
    ConsentRecord,
    RiskAlert,
    RiskSource,
    ScreeningResponse,
    SecurityEvent,
    User,
    WellnessEntry,
)
from appointments.models import AppointmentData, AppointmentStatus, SessionNote, SessionNoteVersion
from appointments.models import PaymentStatus as AppointmentPaymentStatus
from billing.models import PaymentIntent, RefundRequest, RefundStatus
from content.models import (
    ApplicationStatus,
    CareerApplication,
    ChatConversation,
    ChatMessage,
    ChatStatus,
    ContactStatus,
    ContactSubmission,
)
from tests.bloom.retention_support import aged, ago, inactive, run_retention
from tests.factories.accounts import (
    AdminActivityLogFactory,
    AdminSessionFactory,
    ConsentRecordFactory,
    RiskAlertFactory,
    ScreeningResponseFactory,
    SecurityEventFactory,
    UserFactory,
    WellnessEntryFactory,
)
from tests.factories.appointments import AppointmentDataFactory, AppointmentPaymentFactory, SessionNoteFactory
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory
from tests.factories.content import (
    CareerApplicationFactory,
    ChatConversationFactory,
    ChatMessageFactory,
    ContactSubmissionFactory,
    JobPostingFactory,
)

pytestmark = pytest.mark.django_db

WELLNESS, CLINICAL, CONSENT = 731, 2557, 2192


def _checkin(user, days: int, **kwargs):
    return aged(WellnessEntryFactory(user=user, **kwargs), days, "entry_date")


def test_wellness_goes_two_years_after_her_last_activity_unless_used_in_care():
    gone = inactive(UserFactory(), WELLNESS + 5)
    old_entry = _checkin(gone, WELLNESS + 10)
    private_screening = aged(ScreeningResponseFactory(user=gone), WELLNESS + 10, "taken_at")
    shared_screening = ScreeningResponseFactory(user=gone, shared_with_clinician=True)
    alerting_entry = _checkin(gone, WELLNESS + 20)
    RiskAlertFactory(
        user=gone,
        source=RiskSource.WELLNESS_NOTE,
        source_object_id=str(alerting_entry.pk),
        screening_response=None,
        acknowledged_at=ago(WELLNESS + 15),
        acknowledged_by=UserFactory(is_staff=True),
    )
    signed_in_lately = inactive(UserFactory(), 10)
    her_old_entry = _checkin(signed_in_lately, WELLNESS + 10)
    checked_in_lately = inactive(UserFactory(), WELLNESS + 5)
    recent = _checkin(checked_in_lately, 5)
    older = _checkin(checked_in_lately, WELLNESS + 10)

    out = run_retention("--only", "wellness")

    assert not WellnessEntry.objects.filter(pk=old_entry.pk).exists()
    assert not ScreeningResponse.objects.filter(pk=private_screening.pk).exists()
    # Used in care: shared with her clinician, or raised an alert. Those follow the clinical limit.
    assert ScreeningResponse.objects.filter(pk=shared_screening.pk).exists()
    assert WellnessEntry.objects.filter(pk=alerting_entry.pk).exists()
    # Anyone active in the last two years keeps everything.
    assert set(WellnessEntry.objects.filter(user__in=[signed_in_lately, checked_in_lately])) == {
        her_old_entry,
        recent,
        older,
    }
    assert "accounts: wellness_entries of members inactive past the limit (over 731 days): 1 due, 1 changed" in out


def test_clinical_rows_kept_by_her_go_seven_years_after_her_last_activity():
    long_gone = inactive(UserFactory(), CLINICAL + 5)
    shared = ScreeningResponseFactory(user=long_gone, shared_with_clinician=True)
    staff = UserFactory(is_staff=True)
    alert = RiskAlertFactory(user=long_gone, acknowledged_at=ago(CLINICAL + 3), acknowledged_by=staff)
    alerted_screening = alert.screening_response
    six_years = inactive(UserFactory(), CLINICAL - 300)
    kept = ScreeningResponseFactory(user=six_years, shared_with_clinician=True)

    run_retention("--only", "clinical_records")

    assert not ScreeningResponse.objects.filter(pk__in=[shared.pk, alerted_screening.pk]).exists()
    assert not RiskAlert.objects.filter(pk=alert.pk).exists()
    assert ScreeningResponse.objects.filter(pk=kept.pk).exists()


def _session(user, days: int, **kwargs):
    starts = ago(days)
    ends = starts + timedelta(minutes=50)
    return AppointmentDataFactory(
        user=user, status=AppointmentStatus.COMPLETED, starts_at=starts, ends_at=ends, **kwargs
    )


def test_session_notes_and_appointment_text_are_redacted_seven_years_after_the_last_session():
    member = UserFactory()
    old_session = _session(member, CLINICAL + 30, cancel_reason="", diagnosis_codes=["F53.0"], service_code="90837")
    note = SessionNoteFactory(appointment=old_session, signed=True)
    payment = AppointmentPaymentFactory(
        appointment=old_session, status=AppointmentPaymentStatus.CAPTURED, waive_reason="", failure_message=""
    )
    returning = UserFactory()
    her_old = _session(returning, CLINICAL + 30)
    her_note = SessionNoteFactory(appointment=her_old)
    _session(returning, 100)

    run_retention("--only", "clinical_records")

    note.refresh_from_db()
    assert note.body == "" and note.status == "signed" and note.signed_at
    assert set(SessionNoteVersion.objects.filter(note=note).values_list("body", flat=True)) == {""}
    assert SessionNoteVersion.objects.filter(note=note).count() == 2
    old_session.refresh_from_db()
    assert (old_session.invitee_name, old_session.location, old_session.zoom_meeting_url) == ("", None, None)
    assert (old_session.diagnosis_codes, old_session.service_code) == ([], "")
    # The row stays: the payment and the ledger point at it.
    assert old_session.starts_at and old_session.status == AppointmentStatus.COMPLETED
    assert AppointmentData.objects.get(pk=old_session.pk).payments.get() == payment
    # A member seen within seven years keeps her older notes whole.
    assert SessionNote.objects.get(pk=her_note.pk).body == her_note.body
    assert AppointmentData.objects.get(pk=her_old.pk).invitee_name == "Test Invitee"
    # Nothing left: a second run changes nothing.
    assert "0 rows changed." in run_retention("--only", "clinical_records")


def test_payments_keep_their_rows_and_lose_their_free_text_after_seven_years():
    old = aged(PaymentIntentFactory(paid=True, failure_message="Card declined twice"), 2560)
    recent = aged(PaymentIntentFactory(paid=True, failure_message="Card declined"), 2500)
    refund = aged(
        RefundRequestFactory(
            status=RefundStatus.DENIED, reason="My baby was in hospital", decision_note="Outside window"
        ),
        2560,
    )
    waived = aged(
        AppointmentPaymentFactory(
            status=AppointmentPaymentStatus.WAIVED,
            waive_reason="Hospital stay",
            appointment=_session(UserFactory(), 2600),
        ),
        2560,
    )

    run_retention("--only", "payments")

    old.refresh_from_db()
    assert old.failure_message == "" and old.amount == 100 and old.status == "succeeded" and old.stripe_charge_id
    assert PaymentIntent.objects.get(pk=recent.pk).failure_message == "Card declined"
    refund.refresh_from_db()
    assert (refund.reason, refund.decision_note, refund.amount_requested) == ("", "", 40)
    waived.refresh_from_db()
    assert waived.waive_reason == "" and waived.amount == 180


def test_an_open_refund_keeps_its_words():
    open_refund = aged(RefundRequestFactory(status=RefundStatus.REQUESTED, reason="Please"), 2600)
    run_retention("--only", "payments")
    assert RefundRequest.objects.get(pk=open_refund.pk).reason == "Please"


def test_consent_records_go_six_years_after_the_relationship_ends():
    gone = inactive(UserFactory(), CONSENT + 3)
    stays = inactive(UserFactory(), CONSENT - 3)
    old = [aged(ConsentRecordFactory(user=gone), CONSENT + 3), ConsentRecordFactory(user=gone, kind="terms")]
    kept = aged(ConsentRecordFactory(user=stays), CONSENT + 100)

    run_retention("--only", "consent_records")

    assert not ConsentRecord.objects.filter(pk__in=[row.pk for row in old]).exists()
    assert ConsentRecord.objects.filter(pk=kept.pk).exists()


def test_contact_messages_and_chats_go_a_year_after_they_closed():
    aged(ContactSubmissionFactory(status=ContactStatus.CLOSED), 366, "closed_at")
    closed_lately = aged(ContactSubmissionFactory(status=ContactStatus.CLOSED), 300, "closed_at")
    never_closed = aged(ContactSubmissionFactory(status=ContactStatus.NEW), 900)
    old_chat = aged(ChatConversationFactory(status=ChatStatus.CLOSED), 400, "closed_at")
    message = ChatMessageFactory(conversation=old_chat)
    open_chat = aged(ChatConversationFactory(status=ChatStatus.OPEN), 900)
    recent_chat = aged(ChatConversationFactory(status=ChatStatus.CLOSED), 30, "closed_at")

    run_retention("--only", "contact_messages")
    run_retention("--only", "chats")

    assert set(ContactSubmission.objects.all()) == {closed_lately, never_closed}
    assert set(ChatConversation.objects.all()) == {open_chat, recent_chat}
    assert not ChatMessage.objects.filter(pk=message.pk).exists()


def test_career_applications_go_with_their_cv_file_six_months_after_the_role_closed(django_capture_on_commit_callbacks):
    closed_role = aged(JobPostingFactory(is_open=False), 200, "updated_at")
    old = CareerApplicationFactory(job_posting=closed_role)
    path = os.path.join(settings.MEDIA_ROOT, old.cv.name)
    past_closing_date = JobPostingFactory(closes_at=ago(190))
    also_old = CareerApplicationFactory(job_posting=past_closing_date)
    closed_lately = CareerApplicationFactory(job_posting=aged(JobPostingFactory(closes_at=ago(100)), 300, "updated_at"))
    open_role = CareerApplicationFactory(job_posting=JobPostingFactory(is_open=True))
    kept_on_file = CareerApplicationFactory(job_posting=closed_role, keep_on_file=True)
    assert os.path.exists(path)

    with django_capture_on_commit_callbacks(execute=True):
        out = run_retention("--only", "career_applications")

    assert set(CareerApplication.objects.all()) == {closed_lately, open_role, kept_on_file}
    assert not os.path.exists(path)
    assert not os.path.exists(os.path.join(settings.MEDIA_ROOT, also_old.cv.name))
    assert os.path.exists(os.path.join(settings.MEDIA_ROOT, open_role.cv.name))
    assert "2 changed (delete with the CV file)" in out


def test_security_events_sessions_and_admin_logs_go_after_their_limits():
    old_event = aged(SecurityEventFactory(), 366)
    recent_event = aged(SecurityEventFactory(), 300)
    old_session = aged(AdminSessionFactory(), 400, "last_seen_at")
    live_session = AdminSessionFactory()
    old_log = aged(AdminActivityLogFactory(), 2200)
    recent_log = aged(AdminActivityLogFactory(), 2000)
    staff = UserFactory(is_staff=True)
    entry = LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(User),
        object_id="1",
        object_repr="x",
        action_flag=CHANGE,
    )
    aged(entry, 2200, "action_time")

    run_retention("--only", "security_events")
    run_retention("--only", "admin_activity")

    assert list(SecurityEvent.objects.filter(pk__in=[old_event.pk, recent_event.pk])) == [recent_event]
    assert list(AdminSession.objects.filter(pk__in=[old_session.pk, live_session.pk])) == [live_session]
    assert list(AdminActivityLog.objects.filter(pk__in=[old_log.pk, recent_log.pk])) == [recent_log]
    assert not LogEntry.objects.filter(pk=entry.pk).exists()


def test_an_application_kept_on_file_goes_two_years_after_she_applied_unless_still_considered(
    django_capture_on_commit_callbacks,
):
    role = JobPostingFactory(is_open=False)
    rejected = aged(
        CareerApplicationFactory(job_posting=role, keep_on_file=True, status=ApplicationStatus.REJECTED), 731
    )
    interviewing = aged(
        CareerApplicationFactory(job_posting=role, keep_on_file=True, status=ApplicationStatus.INTERVIEW), 800
    )
    recent = aged(CareerApplicationFactory(job_posting=role, keep_on_file=True, status=ApplicationStatus.REJECTED), 700)
    path = os.path.join(settings.MEDIA_ROOT, rejected.cv.name)

    with django_capture_on_commit_callbacks(execute=True):
        run_retention("--only", "career_applications_on_file")

    assert set(CareerApplication.objects.all()) == {interviewing, recent}
    assert not os.path.exists(path)
