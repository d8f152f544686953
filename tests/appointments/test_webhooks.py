"""POST /webhooks/calendly/: signature, storage, duplicates, processing, out-of-order events."""

import json
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import SecurityEvent
from appointments.models import AppointmentData, AppointmentStatus, CalendlyWebhookEvent
from appointments.webhooks import PROVIDER as calendly
from appointments.webhooks import CalendlyPayloadError
from tests.callbacks import work_callbacks
from tests.factories.accounts import UserFactory
from tests.waiting import wait_until

from .conftest import calendly_body, post_calendly, sign

pytestmark = pytest.mark.django_db


def _receive(body):
    """Store a verified delivery through the provider's one insert path: (event or None, created)."""
    event_id = calendly.store_payload(body)
    return (None if event_id is None else CalendlyWebhookEvent.objects.get(pk=event_id)), event_id is not None


def test_url_name_resolves():
    assert reverse("appointments:calendly_webhook") == "/webhooks/calendly/"


def test_good_signature_stores_event_and_enqueues_after_commit(client, member, django_capture_on_commit_callbacks):
    body = calendly_body(email=member.email)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_calendly(client, body)
    assert response.status_code == 200
    event = CalendlyWebhookEvent.objects.get()
    assert event.event_type == "invitee.created"
    assert event.event_uuid == f"invitee.created:{body['payload']['uri']}:{body['created_at']}"
    assert event.processed is False
    assert len(work_callbacks(callbacks)) == 1
    assert not AppointmentData.objects.exists()  # processing happens in the task, not the request


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=123",
        "v1=deadbeef",
        "t=abc,v1=deadbeef",
    ],
)
def test_missing_or_malformed_signature_is_refused(client, header):
    raw = json.dumps(calendly_body()).encode()
    response = client.post(
        "/webhooks/calendly/", data=raw, content_type="application/json", headers={"Calendly-Webhook-Signature": header}
    )
    assert response.status_code == 400
    assert not CalendlyWebhookEvent.objects.exists()
    assert SecurityEvent.objects.filter(event_type="calendly_webhook_rejected").count() == 1


@pytest.mark.parametrize(
    ("sign_kwargs", "reason"),
    [
        ({"secret": "not-the-signing-key"}, "signature does not match"),
        ({"timestamp_offset": -301}, "tolerance"),
        # Well past the 300 s tolerance: a loaded machine may take seconds to reach the check,
        # which brings a "future" timestamp closer to now (a stale one only gets staler).
        ({"timestamp_offset": 600}, "tolerance"),
    ],
    ids=["wrong-key", "stale", "future"],
)
def test_bad_stale_or_future_signature_is_refused_and_logged(client, sign_kwargs, reason):
    if "timestamp_offset" in sign_kwargs:
        sign_kwargs = {"timestamp": int(time.time()) + sign_kwargs["timestamp_offset"]}
    response = post_calendly(client, calendly_body(), **sign_kwargs)
    assert response.status_code == 400
    assert not CalendlyWebhookEvent.objects.exists()
    security = SecurityEvent.objects.get()
    assert security.event_type == "calendly_webhook_rejected"
    assert security.details["provider"] == "calendly"
    assert reason in security.details["reason"]


def test_body_changed_after_signing_is_refused(client):
    raw = json.dumps(calendly_body()).encode()
    header = sign(raw)
    tampered = raw.replace(b"member@example.com", b"other@example.com")
    response = client.post(
        "/webhooks/calendly/",
        data=tampered,
        content_type="application/json",
        headers={"Calendly-Webhook-Signature": header},
    )
    assert response.status_code == 400
    assert not CalendlyWebhookEvent.objects.exists()


def test_signed_body_without_keying_fields_is_400_and_not_stored(client):
    response = post_calendly(client, {"event": "invitee.created", "payload": {}})
    assert response.status_code == 400
    assert not CalendlyWebhookEvent.objects.exists()
    security = SecurityEvent.objects.get(event_type="calendly_webhook_rejected")
    assert "lacks event, payload.uri or created_at" in security.details["reason"]


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/calendly/").status_code == 405


def test_duplicate_delivery_is_a_no_op_that_answers_200(client, member, django_capture_on_commit_callbacks):
    body = calendly_body(email=member.email)
    with django_capture_on_commit_callbacks(execute=False) as first:
        assert post_calendly(client, body).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as second:
        assert post_calendly(client, body).status_code == 200
    assert CalendlyWebhookEvent.objects.count() == 1
    assert len(work_callbacks(first)) == 1
    assert work_callbacks(second) == []


def _receive_and_process(body):
    event, created = _receive(body)
    assert created
    return calendly.process(event_id=str(event.pk))


def test_invitee_created_books_the_member_with_the_host_therapist(member, therapist):
    body = calendly_body(email=member.email.upper(), host_uri=therapist.calendly_user_uri)
    assert _receive_and_process(body) == "created"
    appointment = AppointmentData.objects.get()
    assert appointment.user == member
    assert appointment.therapist == therapist
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert appointment.calendly_invitee_uri == body["payload"]["uri"]
    assert appointment.zoom_meeting_url == "https://us02web.zoom.us/j/8123456789"
    assert appointment.timezone == "America/New_York"
    assert (appointment.ends_at - appointment.starts_at).total_seconds() == 50 * 60
    event = CalendlyWebhookEvent.objects.get()
    assert event.processed is True
    assert event.outcome == "created"
    assert event.attempts == 1


def test_processing_twice_changes_nothing(member, therapist):
    body = calendly_body(email=member.email)
    event, _ = _receive(body)
    calendly.process(event_id=str(event.pk))
    assert calendly.process(event_id=str(event.pk)) == "skipped"
    assert AppointmentData.objects.count() == 1
    event.refresh_from_db()
    assert event.attempts == 1


def test_unknown_email_is_stored_unlinked_for_staff(therapist):
    assert _receive_and_process(calendly_body(email="stranger@example.com")) == "created_unmatched_member"
    appointment = AppointmentData.objects.get()
    assert appointment.user is None
    assert appointment.invitee_email == "stranger@example.com"


def test_cancel_after_create_cancels_with_reason(member, therapist):
    created = calendly_body(email=member.email)
    _receive_and_process(created)
    canceled = calendly_body(
        event="invitee.canceled", email=member.email, invitee_uri=created["payload"]["uri"], reason="Baby is unwell"
    )
    assert _receive_and_process(canceled) == "cancelled"
    appointment = AppointmentData.objects.get()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Baby is unwell"
    assert appointment.cancelled_at is not None


def test_reschedule_marks_the_old_booking_rescheduled_and_books_the_new_one(member, therapist):
    old = calendly_body(email=member.email)
    _receive_and_process(old)
    _receive_and_process(
        calendly_body(event="invitee.canceled", email=member.email, invitee_uri=old["payload"]["uri"], rescheduled=True)
    )
    _receive_and_process(calendly_body(email=member.email))
    statuses = sorted(AppointmentData.objects.values_list("status", flat=True))
    assert statuses == ["rescheduled", "scheduled"]


def test_late_created_after_canceled_does_not_resurrect(member, therapist):
    created = calendly_body(email=member.email)
    canceled = calendly_body(event="invitee.canceled", email=member.email, invitee_uri=created["payload"]["uri"])
    assert _receive_and_process(canceled) == "cancelled_before_created"
    assert _receive_and_process(created) == "ignored_already_cancelled"
    appointment = AppointmentData.objects.get()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.user == member


def test_older_update_does_not_overwrite_a_newer_one(member, therapist):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    newer = calendly_body(email=member.email, created_at=now, starts_at=now + timedelta(days=5))
    older = calendly_body(
        email=member.email,
        invitee_uri=newer["payload"]["uri"],
        created_at=now - timedelta(minutes=10),
        starts_at=now + timedelta(days=4),
    )
    _receive_and_process(newer)
    assert _receive_and_process(older) == "ignored_stale"
    assert AppointmentData.objects.get().starts_at.date() == (now + timedelta(days=5)).date()


def test_unknown_event_type_is_stored_and_marked_ignored(client):
    body = calendly_body(event="routing_form_submission.created")
    assert _receive_and_process(body) == "ignored"
    assert not AppointmentData.objects.exists()
    assert CalendlyWebhookEvent.objects.get().processed is True


def test_failing_handler_records_error_and_keeps_event_pending(member, therapist):
    body = calendly_body(email=member.email)
    body["payload"]["scheduled_event"]["start_time"] = "not a time"
    event, _ = _receive(body)
    with pytest.raises(CalendlyPayloadError):
        calendly.process(event_id=str(event.pk))
    event.refresh_from_db()
    assert event.processed is False
    assert event.attempts == 1
    assert "start_time" in event.error_message
    assert not AppointmentData.objects.exists()


def test_sweeper_re_enqueues_only_stale_pending_events(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from appointments import tasks
    from bloom.tasks import webhooks_sweep_task
    from tests.factories.appointments import CalendlyWebhookEventFactory

    stale = CalendlyWebhookEventFactory()
    CalendlyWebhookEvent.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    CalendlyWebhookEventFactory()  # fresh: its own task is still on the way
    done = CalendlyWebhookEventFactory(processed=True)
    CalendlyWebhookEvent.objects.filter(pk=done.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    sent = []
    monkeypatch.setattr(tasks.calendly_event_process_task, "delay", lambda event_id: sent.append(event_id))
    assert webhooks_sweep_task() == {"stripe": 0, "calendly": 1, "zoom": 0}
    assert sent == [str(stale.pk)]


def test_reprocess_command_processes_pending_events(member, therapist):
    body = calendly_body(email=member.email)
    _receive(body)
    assert not AppointmentData.objects.exists()
    from io import StringIO

    out = StringIO()
    call_command("webhooks_reprocess", "--provider", "calendly", stdout=out)
    assert AppointmentData.objects.get().user == member
    assert "Processed 1 event(s), 0 failed." in out.getvalue()


def test_admin_reprocess_action_requeues_selected_pending_events(
    client, staff, member, therapist, django_capture_on_commit_callbacks
):
    done, _ = _receive(calendly_body(email=member.email))
    calendly.process(event_id=str(done.pk))
    failed, _ = _receive(calendly_body(email=member.email))
    CalendlyWebhookEvent.objects.filter(pk=failed.pk).update(attempts=8, error_message="boom")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("admin:appointments_calendlywebhookevent_changelist"),
            {"action": "reprocess", "_selected_action": [str(done.pk), str(failed.pk)]},
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.processed, failed.attempts) == (False, 0)
    assert (done.processed, done.attempts) == (True, 1)  # processed events are left alone
    assert len(work_callbacks(callbacks)) == 1
    assert calendly.process(event_id=str(failed.pk)) == "created"
    assert calendly.process(event_id=str(done.pk)) == "skipped"
    assert AppointmentData.objects.count() == 2  # idempotent: nothing booked twice


@pytest.mark.worker
def test_webhook_to_booking_through_a_real_worker(celery_worker_process, client):
    member = UserFactory()
    from tests.factories.appointments import TherapistProfileFactory

    therapist = TherapistProfileFactory()
    body = calendly_body(email=member.email, host_uri=therapist.calendly_user_uri)
    assert post_calendly(client, body).status_code == 200
    wait_until(
        lambda: CalendlyWebhookEvent.objects.filter(processed=True).exists(),
        timeout=30,
        what="the worker to process the Calendly event",
    )
    appointment = AppointmentData.objects.get()
    assert appointment.user == member
    assert appointment.therapist == therapist


def test_update_keeps_a_member_and_therapist_staff_linked_by_hand(therapist):
    from datetime import timedelta

    from django.utils import timezone

    first = calendly_body(email="typo@example.com", host_uri="https://api.calendly.com/users/UNKNOWN")
    _receive_and_process(first)
    appointment = AppointmentData.objects.get()
    member = UserFactory()
    AppointmentData.objects.filter(pk=appointment.pk).update(user=member, therapist=therapist)
    later = calendly_body(
        email="typo@example.com",
        host_uri="https://api.calendly.com/users/UNKNOWN",
        invitee_uri=first["payload"]["uri"],
        created_at=timezone.now() + timedelta(seconds=5),
    )
    assert _receive_and_process(later) == "updated"
    appointment.refresh_from_db()
    assert appointment.user == member
    assert appointment.therapist == therapist


# Issue 18 point 5: what applying a booking costs, pinned. In a test the event's transaction is
# a savepoint (2 statements) inside the test's; then: lock the event, the therapist, the member,
# the invitee's booking (FOR UPDATE), her accepted policy, insert the booking, record the outcome.
def test_a_booking_is_applied_in_a_pinned_number_of_queries(member, therapist, django_assert_num_queries):
    event_id = calendly.store_payload(calendly_body(email=member.email))

    with django_assert_num_queries(9):
        assert calendly.process(event_id=event_id) == "created"

    booking = AppointmentData.objects.get()
    assert (booking.user, booking.therapist, booking.status) == (member, therapist, AppointmentStatus.SCHEDULED)
