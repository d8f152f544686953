"""Nightly Calendly reconciliation against Calendly's API faked at the HTTP boundary."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments import reconcile, webhooks
from appointments.models import AppointmentData, AppointmentStatus, CalendlyWebhookEvent
from appointments.tasks import calendly_reconcile_task
from tests.appointments.calendly_fakes import ORGANIZATION, TOKEN, calendly_server
from tests.billing.stripe_fakes import closed_port_url
from tests.factories.appointments import AppointmentDataFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendly(settings, therapist):
    with calendly_server() as fake:
        settings.CALENDLY_API_BASE = fake.base_url
        settings.CALENDLY_API_TOKEN = TOKEN
        settings.CALENDLY_ORGANIZATION_URI = ORGANIZATION
        settings.CALENDLY_API_TIMEOUT = 0.5
        yield fake


def _soon(days: float = 3):
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0)


def test_a_booking_whose_webhook_never_arrived_is_applied_through_the_webhook_path(calendly, member):
    starts_at = _soon()
    _event, invitee = calendly.booking(email=member.email, starts_at=starts_at)

    result = reconcile.calendly_reconcile(days=7)

    assert result.ok and (result.bookings_applied, result.cancellations_applied) == (1, 0)
    appointment = AppointmentData.objects.get(calendly_invitee_uri=invitee["uri"])
    assert appointment.user == member
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert (appointment.starts_at, appointment.ends_at) == (starts_at, starts_at + timedelta(minutes=50))
    assert appointment.zoom_meeting_url == "https://us02web.zoom.us/j/8123456789"
    stored = CalendlyWebhookEvent.objects.get()
    assert stored.event_uuid == f"reconcile:{invitee['uri']}:active"
    assert (stored.event_type, stored.processed, stored.outcome) == ("invitee.created", True, "created")
    # Calendly was asked the way its API wants: organization scope, start window, bearer token.
    path, query, auth = calendly.requests[0]
    assert path == "/scheduled_events" and query["organization"] == ORGANIZATION and auth == f"Bearer {TOKEN}"
    assert "min_start_time" in query and query["count"] == "100"

    again = reconcile.calendly_reconcile(days=7)
    assert again.ok and (again.bookings_applied, again.cancellations_applied) == (0, 0)
    assert CalendlyWebhookEvent.objects.count() == 1
    assert AppointmentData.objects.count() == 1


def test_a_cancellation_whose_webhook_never_arrived_closes_the_booking(calendly, member, therapist):
    _event, invitee = calendly.booking(email=member.email, starts_at=_soon(), status="canceled")
    appointment = AppointmentDataFactory(
        user=member, therapist=therapist, calendly_invitee_uri=invitee["uri"], starts_at=_soon()
    )

    result = reconcile.calendly_reconcile(days=7)

    assert result.ok and result.cancellations_applied == 1
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Something came up"
    assert CalendlyWebhookEvent.objects.get().event_uuid == f"reconcile:{invitee['uri']}:canceled"


def test_bookings_bloom_already_knows_store_nothing(calendly, member, therapist):
    _event, active = calendly.booking(email=member.email, starts_at=_soon())
    _event, canceled = calendly.booking(email=member.email, starts_at=_soon(4), status="canceled")
    AppointmentDataFactory(user=member, calendly_invitee_uri=active["uri"])
    AppointmentDataFactory(user=member, calendly_invitee_uri=canceled["uri"], status=AppointmentStatus.CANCELLED)

    result = reconcile.calendly_reconcile(days=7)

    assert result.ok and (result.events_read, result.invitees_read) == (2, 2)
    assert (result.bookings_applied, result.cancellations_applied, result.conflicts) == (0, 0, 0)
    assert not CalendlyWebhookEvent.objects.exists()


def test_active_in_calendly_but_cancelled_in_bloom_is_left_for_staff_and_reported(calendly, member, caplog):
    _event, invitee = calendly.booking(email=member.email, starts_at=_soon())
    appointment = AppointmentDataFactory(
        user=member, calendly_invitee_uri=invitee["uri"], status=AppointmentStatus.CANCELLED
    )
    result = reconcile.calendly_reconcile(days=7)
    assert result.conflicts == 1 and "left for staff" in result.summary()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert invitee["uri"] in caplog.text


def test_every_page_is_read_following_next_page_token(calendly, member):
    for day in range(120):
        calendly.booking(email=member.email, starts_at=_soon(1 + day / 10))

    result = reconcile.calendly_reconcile(days=7)

    assert result.ok and result.bookings_applied == 120
    listing = [query for path, query, _ in calendly.requests if path == "/scheduled_events"]
    assert [q.get("page_token") for q in listing if q["status"] == "active"] == [None, "100"]
    assert AppointmentData.objects.count() == 120


def test_only_sessions_from_the_window_on_are_read(calendly, member):
    calendly.booking(email=member.email, starts_at=_soon(-10))
    calendly.booking(email=member.email, starts_at=_soon(-1))
    result = reconcile.calendly_reconcile(days=3)
    assert result.bookings_applied == 1


@pytest.mark.parametrize(
    ("fragment", "fault", "says"),
    [
        ("status=active", "timeout", "did not answer"),
        ("status=canceled", "500", "answered 500"),
        ("status=active", "429", "answered 429"),
        ("status=active", "401", "refused the API token (401)"),
        ("/invitees", "malformed", "not JSON"),
        ("/invitees", "no_collection", "has no collection"),
        ("/invitees", "404", "refused the request"),
        ("page_token=100", "500", "answered 500"),
    ],
)
def test_calendly_failing_anywhere_applies_nothing_and_says_why(calendly, member, caplog, fragment, fault, says):
    for day in range(110):
        calendly.booking(email=member.email, starts_at=_soon(1 + day / 10))
    calendly.booking(email=member.email, starts_at=_soon(), status="canceled")
    calendly.fail(fragment, fault)

    with caplog.at_level(logging.ERROR, logger="appointments.reconcile"):
        result = reconcile.calendly_reconcile(days=7)

    assert not result.ok and says in result.error
    assert TOKEN not in result.error
    assert not AppointmentData.objects.exists()
    assert not CalendlyWebhookEvent.objects.exists()
    assert "nothing applied" in caplog.text


def test_a_refused_connection_applies_nothing(settings, calendly, member):
    calendly.booking(email=member.email, starts_at=_soon())
    settings.CALENDLY_API_BASE = closed_port_url()
    result = reconcile.calendly_reconcile(days=7)
    assert "could not reach Calendly" in result.error
    assert not AppointmentData.objects.exists()


def test_without_a_token_or_a_scope_nothing_is_asked(settings, calendly):
    settings.CALENDLY_API_TOKEN = ""
    assert "CALENDLY_API_TOKEN" in reconcile.calendly_reconcile().error
    settings.CALENDLY_API_TOKEN = TOKEN
    settings.CALENDLY_ORGANIZATION_URI = ""
    settings.CALENDLY_USER_URI = ""
    assert "CALENDLY_ORGANIZATION_URI" in reconcile.calendly_reconcile().error
    assert calendly.requests == []


def test_one_difference_that_fails_stays_stored_with_its_error_and_the_rest_apply(calendly, member, monkeypatch):
    _event, good = calendly.booking(email=member.email, starts_at=_soon())
    _event, bad = calendly.booking(email="broken@example.com", starts_at=_soon(4))
    real = webhooks.PROVIDER.handlers["invitee.created"]

    def handler(event):
        if event.event_data["payload"]["uri"] == bad["uri"]:
            raise RuntimeError("linkage failed")
        return real(event)

    monkeypatch.setitem(webhooks.CalendlyProvider.handlers, "invitee.created", handler)

    result = reconcile.calendly_reconcile(days=7)

    assert not result.ok and result.bookings_applied == 1
    assert len(result.failures) == 1 and bad["uri"] in result.failures[0]
    assert AppointmentData.objects.filter(calendly_invitee_uri=good["uri"]).exists()
    assert not AppointmentData.objects.filter(calendly_invitee_uri=bad["uri"]).exists()  # nothing half-applied
    failed = CalendlyWebhookEvent.objects.get(event_uuid=f"reconcile:{bad['uri']}:active")
    assert failed.processed is False and "linkage failed" in failed.error_message and failed.attempts == 1

    # The fault is put right; the next run applies the stored event (the same id, not a new one).
    monkeypatch.setitem(webhooks.CalendlyProvider.handlers, "invitee.created", real)
    later = reconcile.calendly_reconcile(days=7)
    assert later.ok and later.bookings_applied == 1
    assert CalendlyWebhookEvent.objects.filter(event_uuid__startswith="reconcile:").count() == 2


def test_the_command_shows_progress_and_a_summary(calendly, member):
    calendly.booking(email=member.email, starts_at=_soon())
    out = StringIO()
    call_command("calendly_reconcile", "--days", "2", stdout=out)
    text = out.getvalue()
    assert "[##############################] 1/1 events' invitees read" in text
    assert "1 missed bookings and 0 missed cancellations applied; 0 failed." in text


def test_the_command_fails_with_the_reason_when_calendly_cannot_be_read(calendly, member):
    calendly.booking(email=member.email, starts_at=_soon())
    calendly.fail("status=active", "500")
    with pytest.raises(CommandError, match="nothing applied: Calendly answered 500"):
        call_command("calendly_reconcile", stdout=StringIO())


def test_the_nightly_task_reports_its_summary(calendly, member):
    calendly.booking(email=member.email, starts_at=_soon())
    outcome = calendly_reconcile_task.run()
    assert outcome["ok"] is True and outcome["bookings_applied"] == 1


def test_a_reschedule_whose_webhooks_both_went_missing_closes_the_old_booking_and_adds_the_new(calendly, member):
    _event, old = calendly.booking(email=member.email, starts_at=_soon(2), status="canceled", rescheduled=True)
    _event, new = calendly.booking(email=member.email, starts_at=_soon(5))
    old["new_invitee"] = new["uri"]
    new["old_invitee"] = old["uri"]
    previous = AppointmentDataFactory(user=member, calendly_invitee_uri=old["uri"], starts_at=_soon(2))

    result = reconcile.calendly_reconcile(days=7)

    # The new booking names the old one, so whichever event comes first closes it; the other
    # finds it already applied.
    assert result.ok and result.bookings_applied == 1
    assert result.cancellations_applied + result.already_recorded == 1
    previous.refresh_from_db()
    assert previous.status == AppointmentStatus.RESCHEDULED
    moved = AppointmentData.objects.get(calendly_invitee_uri=new["uri"])
    assert moved.status == AppointmentStatus.SCHEDULED and moved.user == member
    stored = CalendlyWebhookEvent.objects.get(event_type="invitee.created")
    assert stored.event_data["payload"]["old_invitee"] == old["uri"]  # B's linkage reads it as from a webhook
