"""Calendly webhooks: the Calendly `WebhookProvider` (bloom/webhooks.py) and its event handlers.

Calendly signs "{t}.{raw body}" with HMAC-SHA256 under the webhook signing key and sends
`Calendly-Webhook-Signature: t=<ts>,v1=<hex>`. Deliveries carry no event id; the stored
`event_uuid` is built from the body (docs/adr/0061). Handlers create, update or cancel the
booking in appointment_data; state only moves forward, so replays and out-of-order
deliveries change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from bloom.webhooks import (
    PayloadError,
    SignatureError,
    WebhookProvider,
    signature_header_parse,
    verify_timestamped_hmac,
)

from .models import CLOSED_STATUSES, AppointmentData, AppointmentStatus, CalendlyWebhookEvent, TherapistProfile


class CalendlyPayloadError(PayloadError):
    """A signed Calendly body that is not shaped like a webhook event."""


def calendly_event_uuid(*, body: dict) -> str:
    """The stable unique key of one Calendly delivery (docs/adr/0061).

    Calendly sends no event id; a retry re-sends the same body, so the event name, the
    invitee URI and the envelope's `created_at` identify it. A reschedule or a second
    booking creates a new invitee URI, so real new events never collide.
    """
    try:
        event = body["event"]
        invitee_uri = body["payload"]["uri"]
        created_at = body["created_at"]
    except (KeyError, TypeError) as exc:
        raise CalendlyPayloadError("Calendly payload lacks event, payload.uri or created_at.") from exc
    if not all(isinstance(value, str) and value for value in (event, invitee_uri, created_at)):
        raise CalendlyPayloadError("Calendly payload has empty event, payload.uri or created_at.")
    return f"{event}:{invitee_uri}:{created_at}"


def _event_time(body: dict) -> datetime:
    value = parse_datetime(str(body.get("created_at") or ""))
    if value is None:
        raise CalendlyPayloadError("Calendly event has no valid created_at.")
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _booking_fields(invitee: dict) -> dict:
    """Columns of appointment_data taken from an invitee payload (with its scheduled_event)."""
    scheduled = invitee.get("scheduled_event") or {}
    starts_at = parse_datetime(str(scheduled.get("start_time") or ""))
    ends_at = parse_datetime(str(scheduled.get("end_time") or ""))
    if starts_at is None or ends_at is None:
        raise CalendlyPayloadError("Calendly event has no start_time/end_time.")
    location = scheduled.get("location") or {}
    hosts = [m.get("user") for m in scheduled.get("event_memberships") or [] if m.get("user")]
    therapist = TherapistProfile.all_objects.filter(calendly_user_uri__in=hosts).first() if hosts else None
    email = str(invitee.get("email") or "").strip().lower()
    return {
        "user": User.objects.filter(email__iexact=email).first() if email else None,
        "therapist": therapist,
        "invitee_email": email,
        "invitee_name": str(invitee.get("name") or "")[:200],
        "calendly_event_uri": scheduled.get("uri") or invitee.get("event"),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": str(invitee.get("timezone") or "")[:64] or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE,
        "location": location.get("location") or location.get("type"),
        "zoom_meeting_url": location.get("join_url"),
    }


def _invitee_created(event: CalendlyWebhookEvent) -> str:
    """Create or update the booking; a booking already cancelled never comes back."""
    body = event.event_data
    invitee = body["payload"]
    event_at = _event_time(body)
    fields = _booking_fields(invitee)
    appointment = AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=invitee["uri"]).first()
    if appointment is None:
        AppointmentData.objects.create(
            calendly_invitee_uri=invitee["uri"],
            calendly_synced_at=event_at,
            status=AppointmentStatus.SCHEDULED,
            **fields,
        )
        return "created" if fields["user"] else "created_unmatched_member"
    if appointment.status in CLOSED_STATUSES:
        return "ignored_already_cancelled"
    if appointment.calendly_synced_at and event_at < appointment.calendly_synced_at:
        return "ignored_stale"
    for name, value in fields.items():
        if name in {"user", "therapist"} and value is None:
            continue  # never unlink a member or therapist staff linked by hand
        setattr(appointment, name, value)
    appointment.calendly_synced_at = event_at
    appointment.save()
    return "updated"


def _invitee_canceled(event: CalendlyWebhookEvent) -> str:
    """Cancel the booking (or mark it rescheduled). Cancellation is final for an invitee URI.

    A cancellation arriving before its invitee.created stores the booking already
    cancelled, so the late creation finds it closed and is ignored.
    """
    body = event.event_data
    invitee = body["payload"]
    event_at = _event_time(body)
    cancellation = invitee.get("cancellation") or {}
    status = AppointmentStatus.RESCHEDULED if invitee.get("rescheduled") else AppointmentStatus.CANCELLED
    closing = {
        "status": status,
        "cancel_reason": str(cancellation.get("reason") or ""),
        "cancelled_at": event_at,
        "calendly_synced_at": event_at,
    }
    appointment = AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=invitee["uri"]).first()
    if appointment is None:
        AppointmentData.objects.create(calendly_invitee_uri=invitee["uri"], **_booking_fields(invitee), **closing)
        return f"{status}_before_created"
    if appointment.status != AppointmentStatus.SCHEDULED:
        return f"ignored_already_{appointment.status}"
    for name, value in closing.items():
        setattr(appointment, name, value)
    appointment.save()
    return status


class CalendlyProvider(WebhookProvider):
    """Calendly: `Calendly-Webhook-Signature`, keyed by `calendly_event_uuid`."""

    name = "calendly"
    model = CalendlyWebhookEvent
    id_field = "event_uuid"
    handlers = {"invitee.created": _invitee_created, "invitee.canceled": _invitee_canceled}
    process_task = "appointments.tasks.calendly_event_process_task"

    def verify(self, *, headers, raw: bytes) -> None:
        timestamp, signatures = signature_header_parse(headers.get("Calendly-Webhook-Signature", ""))
        if not timestamp or not signatures:
            raise SignatureError("Calendly-Webhook-Signature header missing or malformed")
        verify_timestamped_hmac(
            secret=settings.CALENDLY_WEBHOOK_SIGNING_KEY,
            timestamp=timestamp,
            signed_payload=timestamp.encode() + b"." + raw,
            signatures=signatures,
            tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
        )

    def event_identity(self, payload: dict) -> tuple[str, str]:
        return calendly_event_uuid(body=payload), str(payload["event"])


PROVIDER = CalendlyProvider()
