"""Crisis routing: an urgent screening or flagged words raise an alert in the same transaction,
mail her clinician (or the on-call role, the owners, the care-team inbox) at the highest
priority without any answer in the mail, leave a portal notice, wait in the admin queue until
a clinician acknowledges (audited), and escalate to the owners once when nobody does."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    AdminAction,
    AdminActivityLog,
    AdminRole,
    RiskAlert,
    RiskSource,
    ScreeningResponse,
)
from accounts.risk import risk_categories_found
from accounts.roles import roles_sync_defaults
from accounts.screening import EPDS, PHQ9
from accounts.selectors import member_today
from accounts.services import (
    admin_user_role_set,
    risk_alert_acknowledge,
    risk_alerts_escalate,
    risk_text_review,
    screening_submit,
    wellness_entry_record,
)
from accounts.services import screening as screening_services
from notifications.models import EmailCategory, EmailPriority, EmailQueue, EmailSuppression, UserNotification
from tests.factories.accounts import AdminUserFactory, RiskAlertFactory, StaffUserFactory, UserFactory
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

EPDS_ZERO = {1: 0, 2: 0, 3: 3, 4: 0, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 3}
HARDLY_EVER = EPDS.item(10).options.index("Hardly ever")


def _with_role(user, slug: str):
    roles_sync_defaults()
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug=slug))
    return user


@pytest.fixture
def member():
    user = UserFactory(first_name="Rosa", last_name="Quinn")
    user.profile.stage = "postpartum"
    user.profile.baby_birth_date = timezone.localdate() - datetime.timedelta(weeks=3)
    user.profile.save()
    return user


@pytest.fixture
def clinician(member):
    """The therapist of her next session, with a login."""
    user = StaffUserFactory(first_name="Jana", last_name="Rundle")
    therapist = TherapistProfileFactory(user=user, display_name="Dr. Jana Rundle", credentials="PsyD")
    AppointmentDataFactory(user=member, therapist=therapist)
    return user


def _urgent_epds(member, **extra):
    return screening_submit(member=member, instrument="epds", answers={**EPDS_ZERO, 10: HARDLY_EVER}, **extra)


def _mail_to(address):
    return list(EmailQueue.objects.filter(to_email=address))


def test_urgent_epds_alerts_her_clinician_at_the_highest_priority_with_no_answers_in_the_mail(member, clinician):
    response = _urgent_epds(member)

    assert response.urgent and response.total == 1
    alert = RiskAlert.objects.get()
    assert (alert.user, alert.source, alert.screening_response, alert.assigned_clinician) == (
        member,
        RiskSource.SCREENING,
        response,
        clinician,
    )
    assert "question 10" in alert.reason and "Hardly" not in alert.reason
    (mail,) = _mail_to(clinician.email)  # the portal notice adds no second mail
    assert mail.priority == EmailPriority.HIGH == min(EmailPriority.values)
    assert mail.category == EmailCategory.CLINICAL
    assert mail.subject == "A client's screening needs your attention"
    assert f"/admin/accounts/riskalert/{alert.pk}/change/" in mail.text_body
    for private in ("Hardly ever", "harming", "EPDS", "Rosa", member.email, "1 of 30", "score"):
        assert private not in mail.text_body and private not in mail.subject, private
    (notice,) = UserNotification.objects.filter(user=clinician)
    assert notice.type == "risk_alert" and notice.data["risk_alert_id"] == str(alert.pk)
    assert not UserNotification.objects.filter(user=member, type="risk_alert").exists()


def test_a_clinician_assigned_on_her_profile_comes_before_the_appointment_therapist(member, clinician):
    assigned = StaffUserFactory()
    member.profile.care_clinician = assigned
    member.profile.save()

    _urgent_epds(member)

    assert RiskAlert.objects.get().assigned_clinician == assigned
    assert len(_mail_to(assigned.email)) == 1 and not _mail_to(clinician.email)


def test_without_a_clinician_the_on_call_role_is_alerted(member):
    on_call = [_with_role(StaffUserFactory(), "on_call") for _ in range(2)]
    _with_role(StaffUserFactory(), "owner")

    _urgent_epds(member)

    alert = RiskAlert.objects.get()
    assert alert.assigned_clinician is None
    assert sorted(m.to_email for m in EmailQueue.objects.all()) == sorted(u.email for u in on_call)
    assert UserNotification.objects.filter(type="risk_alert").count() == 2


def test_a_therapist_without_a_login_routes_to_on_call_but_she_still_sees_their_name(member, client):
    AppointmentDataFactory(user=member, therapist=TherapistProfileFactory(user=None, display_name="Sam Okafor"))
    on_call = _with_role(StaffUserFactory(), "on_call")

    response = _urgent_epds(member)

    assert [m.to_email for m in EmailQueue.objects.all()] == [on_call.email]
    client.force_login(member)
    html = client.get(reverse("accounts:screening_result", args=[response.pk])).content.decode()
    assert "Sam Okafor" in html


def test_nobody_on_call_goes_to_the_owners_then_the_care_team_inbox(member, settings):
    settings.BLOOM_STAFF_ALERT_EMAIL = "care@bloom.test"
    _urgent_epds(member)
    assert [m.to_email for m in EmailQueue.objects.all()] == ["care@bloom.test"]

    owner = _with_role(StaffUserFactory(), "owner")
    _urgent_epds(member)
    assert EmailQueue.objects.filter(to_email=owner.email, priority=EmailPriority.HIGH).count() == 1


def test_a_suppressed_clinician_address_still_reaches_the_care_team_inbox(member, clinician, settings):
    settings.BLOOM_STAFF_ALERT_EMAIL = "care@bloom.test"
    EmailSuppression.objects.create(email=clinician.email, scope=EmailSuppression.Scope.ALL, reason="hard_bounce")

    _urgent_epds(member)

    assert [m.to_email for m in EmailQueue.objects.all()] == ["care@bloom.test"]
    assert UserNotification.objects.filter(user=clinician, type="risk_alert").count() == 1


def test_the_alert_is_in_the_same_transaction_as_the_response(member, clinician, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(screening_services, "email_enqueue", broken)
    with pytest.raises(RuntimeError):
        _urgent_epds(member)
    assert not ScreeningResponse.objects.exists()
    assert not RiskAlert.objects.exists()


def test_non_urgent_results_raise_nothing(member, clinician):
    screening_submit(member=member, instrument="epds", answers=EPDS_ZERO)
    screening_submit(member=member, instrument="gad7", answers=dict.fromkeys(range(1, 8), 3))  # severe, not urgent
    assert not RiskAlert.objects.exists()
    assert not EmailQueue.objects.exists()


def test_phq9_item_9_and_an_urgent_total_alert(member, clinician):
    screening_submit(member=member, instrument="phq9", answers={**dict.fromkeys(range(1, 9), 0), 9: 1})
    epds_twenty = {1: 3, 2: 3, 3: 0, 4: 3, 5: 0, 6: 0, 7: 1, 8: 3, 9: 3, 10: 3}
    response = screening_submit(member=member, instrument="epds", answers=epds_twenty)
    assert response.total == 20
    reasons = list(RiskAlert.objects.order_by("created_at").values_list("reason", flat=True))
    assert reasons == [
        f"{PHQ9.short_name} question 9 (thoughts of harming oneself) answered above zero",
        "EPDS total at or above 20",
    ]


# --- Acknowledging ------------------------------------------------------------------------------


def test_acknowledging_records_who_and_when_and_writes_one_audit_row(member):
    alert = RiskAlertFactory(user=member)
    staff = StaffUserFactory()

    assert risk_alert_acknowledge(alert=alert, staff_user=staff, note="Called her, safe, seeing her tomorrow")
    assert not risk_alert_acknowledge(alert=alert, staff_user=StaffUserFactory())

    alert.refresh_from_db()
    assert alert.acknowledged_by == staff and alert.acknowledged_at is not None
    (audit,) = AdminActivityLog.objects.filter(object_type="accounts.riskalert")
    assert (audit.user, audit.action, audit.object_id) == (staff, AdminAction.CHANGE, str(alert.pk))
    assert audit.changes["acknowledged"] is True


def test_the_admin_queue_lists_open_alerts_and_acknowledges_after_confirmation(client, member):
    waiting = RiskAlertFactory(user=member)
    done = RiskAlertFactory(user=member)
    risk_alert_acknowledge(alert=done, staff_user=StaffUserFactory())
    clinician = _with_role(StaffUserFactory(), "on_call")  # alerts naming no clinician reach the on-call role
    client.force_login(clinician)
    url = reverse("admin:accounts_riskalert_changelist")

    listing = client.get(url, {"status": "open"}).content.decode()
    assert str(waiting.pk) in listing and str(done.pk) not in listing

    confirm = client.post(url, {"action": "acknowledge", "_selected_action": [waiting.pk]})
    assert "Acknowledge these alerts?" in confirm.content.decode()
    waiting.refresh_from_db()
    assert waiting.acknowledged_at is None  # nothing changes before confirming

    client.post(
        url, {"action": "acknowledge", "_selected_action": [waiting.pk], "confirm": "yes", "note": "On it"}, follow=True
    )
    waiting.refresh_from_db()
    assert waiting.acknowledged_by == clinician and waiting.acknowledgement_note == "On it"
    assert AdminActivityLog.objects.filter(object_id=str(waiting.pk), user=clinician).count() == 1


def test_an_alert_page_is_read_only_and_offers_the_acknowledge_action(client, member):
    alert = RiskAlertFactory(user=member)
    client.force_login(_with_role(StaffUserFactory(), "on_call"))
    html = client.get(reverse("admin:accounts_riskalert_change", args=[alert.pk])).content.decode()
    assert 'name="_save"' not in html
    assert '<input type="hidden" name="action" value="acknowledge">' in html
    assert reverse("admin:accounts_screeningresponse_change", args=[alert.screening_response_id]) in html
    assert client.post(reverse("admin:accounts_riskalert_change", args=[alert.pk]), {}).status_code == 403


def test_a_clinician_sees_her_clients_alerts_and_those_naming_her_not_other_members(client, member):
    clinician = _with_role(StaffUserFactory(), "clinician")
    unassigned = RiskAlertFactory(user=member)
    named = RiskAlertFactory(user=member, assigned_clinician=clinician)
    client.force_login(clinician)
    listing = client.get(reverse("admin:accounts_riskalert_changelist")).content.decode()
    assert str(named.pk) in listing and str(unassigned.pk) not in listing
    assert client.get(reverse("admin:accounts_riskalert_change", args=[unassigned.pk])).status_code == 302
    # The score behind an alert that reached her opens; she needs it to act.
    url = reverse("admin:accounts_screeningresponse_change", args=[named.screening_response_id])
    assert client.get(url).status_code == 200
    member.profile.care_clinician = clinician
    member.profile.save()
    listing = client.get(reverse("admin:accounts_riskalert_changelist")).content.decode()
    assert str(unassigned.pk) in listing  # now her client


def test_support_staff_cannot_see_the_queue(client):
    support = _with_role(StaffUserFactory(), "support")
    client.force_login(support)
    assert client.get(reverse("admin:accounts_riskalert_changelist")).status_code == 403


# --- Escalation -----------------------------------------------------------------------------------


def test_an_unacknowledged_alert_escalates_to_the_owners_once_after_the_configured_time(member, clinician, settings):
    settings.BLOOM_RISK_ALERT_ESCALATE_AFTER = 30
    owner = _with_role(StaffUserFactory(), "owner")
    _urgent_epds(member)
    alert = RiskAlert.objects.get()
    raised = alert.created_at

    assert risk_alerts_escalate(now=raised + datetime.timedelta(minutes=29)) == 0
    assert not _mail_to(owner.email)

    assert risk_alerts_escalate(now=raised + datetime.timedelta(minutes=31)) == 1
    assert risk_alerts_escalate(now=raised + datetime.timedelta(minutes=90)) == 0  # once
    alert.refresh_from_db()
    assert alert.escalated_at == raised + datetime.timedelta(minutes=31)
    (mail,) = _mail_to(owner.email)
    assert mail.priority == EmailPriority.HIGH
    assert mail.subject == "Not yet acknowledged: a client's screening needs your attention"
    assert "waited 30 minutes" in mail.text_body
    assert UserNotification.objects.filter(user=owner, type="risk_alert").count() == 1


def test_acknowledged_alerts_never_escalate_and_the_time_is_a_setting(member, settings):
    settings.BLOOM_RISK_ALERT_ESCALATE_AFTER = 5
    _with_role(StaffUserFactory(), "owner")
    acknowledged = RiskAlertFactory(user=member)
    risk_alert_acknowledge(alert=acknowledged, staff_user=StaffUserFactory())
    waiting = RiskAlertFactory(user=member)

    assert risk_alerts_escalate(now=timezone.now() + datetime.timedelta(minutes=6)) == 1
    acknowledged.refresh_from_db()
    waiting.refresh_from_db()
    assert acknowledged.escalated_at is None and waiting.escalated_at is not None


@pytest.mark.worker
def test_the_beat_task_escalates_through_a_real_worker(celery_worker_process, settings):
    from accounts.tasks import risk_alerts_escalate_task

    owner = _with_role(StaffUserFactory(), "owner")
    alert = RiskAlertFactory()
    RiskAlert.objects.filter(pk=alert.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=settings.BLOOM_RISK_ALERT_ESCALATE_AFTER + 1)
    )

    risk_alerts_escalate_task.delay()
    wait_until(
        lambda: RiskAlert.objects.filter(pk=alert.pk, escalated_at__isnull=False).exists(),
        timeout=60,
        what="the worker to escalate the alert",
    )
    assert RiskAlert.objects.get(pk=alert.pk).escalated_at is not None
    assert EmailQueue.objects.filter(to_email=owner.email, priority=EmailPriority.HIGH).count() == 1


def test_the_escalation_is_on_the_beat_schedule():
    from bloom.beat import beat_schedule

    entry = beat_schedule()["accounts-risk-alerts-escalate"]
    assert entry["task"] == "accounts.risk_alerts_escalate_task" and entry["schedule"] == 60.0


# --- Free text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Some days I think about how to end my life",
        "I keep having INTRUSIVE thoughts about my baby",
        "I don\u2019t want to be here anymore",
        "honestly I dont want to be here anymore",
        "Scared I might hurt   my baby when she cries",
        "I've been hearing voices at night",
    ],
)
def test_reviewed_phrases_are_flagged(text):
    assert risk_categories_found(text)


@pytest.mark.parametrize(
    "text",
    ["", "Hurt my back carrying the car seat", "The baby charmed everyone", "We watched a film about killers", "tired"],
)
def test_ordinary_words_are_not_flagged(text):
    assert risk_categories_found(text) == []


def test_a_flagged_wellness_note_raises_one_alert_and_shows_her_the_resources(client, member, clinician):
    client.force_login(member)
    response = client.post(
        reverse("accounts:wellness"),
        {"mood": 2, "notes": "I keep having intrusive thoughts about my baby"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("accounts:screening_support")
    html = response.content.decode()
    for resource in ("988", "1-833-852-6262", "911", "Jana Rundle"):
        assert resource in html
    assert "We have let your clinician know" in html
    alert = RiskAlert.objects.get()
    assert alert.source == RiskSource.WELLNESS_NOTE and alert.assigned_clinician == clinician
    assert "intrusive" not in alert.reason  # her words stay in the encrypted note
    (mail,) = _mail_to(clinician.email)
    assert mail.subject == "A client's wellness note needs your attention" and "intrusive" not in mail.text_body

    # Saving the same day's note again while the alert waits raises no second alert.
    client.post(reverse("accounts:wellness"), {"mood": 2, "notes": "still intrusive thoughts about my baby"})
    assert RiskAlert.objects.count() == 1


def test_an_ordinary_note_raises_nothing_and_stays_on_the_wellness_page(client, member, clinician):
    client.force_login(member)
    response = client.post(reverse("accounts:wellness"), {"mood": 4, "notes": "Lovely walk in the park"})
    assert response["Location"] == reverse("accounts:wellness")
    assert not RiskAlert.objects.exists()


def test_the_support_page_only_says_the_team_was_told_when_an_alert_waits(client, member):
    client.force_login(member)
    html = client.get(reverse("accounts:screening_support")).content.decode()
    assert "988" in html and "We have let" not in html


def test_other_apps_flag_their_own_sources(member, clinician):
    alert = risk_text_review(member=member, text="I want to die", source=RiskSource.CONTACT_FORM)
    assert alert.source == RiskSource.CONTACT_FORM
    assert _mail_to(clinician.email)[0].subject == "A message from a client needs your attention"
    assert risk_text_review(member=member, text="Thank you for the workshop", source=RiskSource.CHAT) is None


def test_the_wellness_note_and_its_alert_commit_together(member, monkeypatch):
    from accounts.models import WellnessEntry

    monkeypatch.setattr(screening_services, "risk_alert_raise", lambda **kwargs: (_ for _ in ()).throw(RuntimeError))
    with pytest.raises(RuntimeError):
        wellness_entry_record(
            member=member, entry_date=member_today(profile=member.profile), mood=2, notes="I want to die"
        )
    assert not WellnessEntry.objects.exists()
