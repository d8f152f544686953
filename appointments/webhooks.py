"""Calendly webhooks: the Calendly `WebhookProvider` (bloom/webhooks.py) and its event handlers.

Calendly signs "{t}.{raw body}" with HMAC-SHA256 under the webhook signing key and sends
`Calendly-Webhook-Signature: t=<ts>,v1=<hex>`. Deliveries carry no event id; the stored
`event_uuid` is built from the body (docs/adr/0061). Handlers create, update or cancel the
booking in appointment_data; state only moves forward, so replays and out-of-order
deliveries change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from bloom.exceptions import ApplicationError
from bloom.tasks import send
from bloom.webhooks import (
    PayloadError,
    SignatureError,
    WebhookProvider,
    signature_header_parse,
    verify_timestamped_hmac,
)

from . import attendance
from .models import (
    CLOSED_STATUSES,
    AppointmentData,
    AppointmentStatus,
    BookingLink,
    BookingPolicyAcceptance,
    CalendlyWebhookEvent,
    CancelledBy,
    TherapistProfile,
)
from .tracking import TRACKING_PARAMETER, booking_link_for_tracking


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


def _member_for(invitee: dict, email: str) -> tuple[User | None, BookingLink | None]:
    """The member: named by the signed tracking value on her booking link first (she may have
    typed another email into Calendly), else by the invitee's email."""
    tracking = invitee.get("tracking") if isinstance(invitee.get("tracking"), dict) else {}
    link = booking_link_for_tracking(tracking.get(TRACKING_PARAMETER))
    if link is not None:
        return link.user, link
    return (User.objects.filter(email__iexact=email).first() if email else None), None


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
    member, link = _member_for(invitee, email)
    if therapist is None and link is not None:
        therapist = link.therapist
    return {
        "user": member,
        "therapist": therapist,
        "invitee_email": email,
        "invitee_name": str(invitee.get("name") or "")[:200],
        "calendly_event_uri": scheduled.get("uri") or invitee.get("event"),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": str(invitee.get("timezone") or "")[:64] or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE,
        "location": location.get("location") or location.get("type"),
        "zoom_meeting_url": location.get("join_url"),
        "calendly_cancel_url": str(invitee.get("cancel_url") or ""),
        "calendly_reschedule_url": str(invitee.get("reschedule_url") or ""),
    }


def _policy_for(*, user, therapist) -> BookingPolicyAcceptance | None:
    """The member's latest accepted policy for this therapist (it decides any fee)."""
    if user is None or therapist is None:
        return None
    return BookingPolicyAcceptance.objects.filter(user=user, therapist=therapist).order_by("-accepted_at").first()


def _money_step(step: str, appointment_id, other_id=None) -> None:
    """Queue a hold step (appointments/holds.py) once this event's transaction commits; with
    the broker down the 15-minute holds sweep does it instead."""
    from . import tasks

    args = [step, str(appointment_id), str(other_id) if other_id else None]
    transaction.on_commit(lambda: send(tasks.appointment_money_step_task, *args))


def _link_reschedule(*, old: AppointmentData, new: AppointmentData) -> None:
    """One history: the old booking is rescheduled and points at the new; the new one keeps
    the old one's accepted policy. Either event may arrive first; both call this."""
    if new.rescheduled_from_id is None and not AppointmentData.objects.filter(rescheduled_from=old).exists():
        new.rescheduled_from = old
    new.calendly_old_invitee_uri = old.calendly_invitee_uri
    if new.policy_acceptance_id is None:
        new.policy_acceptance_id = old.policy_acceptance_id
    new.save()
    if old.status == AppointmentStatus.SCHEDULED:
        old.status = AppointmentStatus.RESCHEDULED
        old.cancelled_by = CancelledBy.INVITEE
        old.cancelled_at = old.cancelled_at or timezone.now()
    old.calendly_new_invitee_uri = new.calendly_invitee_uri
    old.save()
    _money_step("move", old.pk, new.pk)


def _invitee_created(event: CalendlyWebhookEvent) -> str:
    """Create or update the booking; a booking already cancelled never comes back.

    Ties the member (tracking value, then email), the accepted policy and Calendly's cancel
    and reschedule links; a booking that replaces another (`old_invitee`) is linked to it
    as one history and the hold moves. A new booking's hold is placed after commit.
    """
    body = event.event_data
    invitee = body["payload"]
    event_at = _event_time(body)
    fields = _booking_fields(invitee)
    old_uri = invitee.get("old_invitee") or None
    appointment = AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=invitee["uri"]).first()
    if appointment is None:
        appointment = AppointmentData.objects.create(
            calendly_invitee_uri=invitee["uri"],
            calendly_synced_at=event_at,
            status=AppointmentStatus.SCHEDULED,
            calendly_old_invitee_uri=old_uri,
            policy_acceptance=_policy_for(user=fields["user"], therapist=fields["therapist"]),
            **fields,
        )
        old = (
            AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=old_uri).first()
            if old_uri
            else None
        )
        if old is not None:
            _link_reschedule(old=old, new=appointment)
            return "created_rescheduled"
        _money_step("place", appointment.pk)
        return "created" if fields["user"] else "created_unmatched_member"
    if appointment.status in CLOSED_STATUSES:
        return "ignored_already_cancelled"
    if appointment.calendly_synced_at and event_at < appointment.calendly_synced_at:
        return "ignored_stale"
    for name, value in fields.items():
        if name in {"user", "therapist"} and value is None:
            continue  # never unlink a member or therapist staff linked by hand
        setattr(appointment, name, value)
    if appointment.policy_acceptance_id is None:
        appointment.policy_acceptance = _policy_for(user=appointment.user, therapist=appointment.therapist)
    appointment.calendly_synced_at = event_at
    appointment.save()
    return "updated"


def _is_late(*, appointment: AppointmentData, at: datetime) -> bool:
    """Inside the window of the policy she accepted (no accepted policy: never late)."""
    policy = appointment.policy_acceptance
    return policy is not None and appointment.starts_at - at < timedelta(hours=policy.window_hours)


def _invitee_canceled(event: CalendlyWebhookEvent) -> str:
    """Cancel the booking (or mark it rescheduled). Cancellation is final for an invitee URI.

    By the therapist (`canceler_type: host`): cancelled, the hold released at once, never a
    fee. By the member inside the accepted window: late-cancelled with a pending fee for
    the clinician to confirm; outside it: cancelled and released. A reschedule links the
    new booking (whichever event came first) and moves the hold, never a fee. A
    cancellation arriving before its invitee.created stores the booking already closed, so
    the late creation finds it closed and is ignored.
    """
    body = event.event_data
    invitee = body["payload"]
    event_at = _event_time(body)
    cancellation = invitee.get("cancellation") or {}
    by_host = cancellation.get("canceler_type") == "host"
    rescheduled = bool(invitee.get("rescheduled"))
    new_uri = invitee.get("new_invitee") or None
    closing = {
        "status": AppointmentStatus.RESCHEDULED if rescheduled else AppointmentStatus.CANCELLED,
        "cancel_reason": str(cancellation.get("reason") or ""),
        "cancelled_at": event_at,
        "calendly_synced_at": event_at,
        "cancelled_by": CancelledBy.HOST if by_host else CancelledBy.INVITEE,
        "calendly_new_invitee_uri": new_uri,
    }
    appointment = AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=invitee["uri"]).first()
    if appointment is None:
        fields = _booking_fields(invitee)
        appointment = AppointmentData.objects.create(
            calendly_invitee_uri=invitee["uri"],
            policy_acceptance=_policy_for(user=fields["user"], therapist=fields["therapist"]),
            **fields,
            **closing,
        )
        result = f"{closing['status']}_before_created"
    elif appointment.status == AppointmentStatus.RESCHEDULED and rescheduled:
        # Its successor's invitee.created came first and closed it; this event adds Calendly's
        # cancellation details (once) and changes nothing else.
        if appointment.calendly_synced_at and event_at <= appointment.calendly_synced_at:
            return "ignored_already_rescheduled"
        for name, value in closing.items():
            if name == "calendly_new_invitee_uri":
                value = appointment.calendly_new_invitee_uri or value
            setattr(appointment, name, value)
        appointment.save()
        return AppointmentStatus.RESCHEDULED
    elif appointment.status != AppointmentStatus.SCHEDULED:
        return f"ignored_already_{appointment.status}"
    else:
        for name, value in closing.items():
            setattr(appointment, name, value)
        appointment.save()
        result = closing["status"]
    if rescheduled:
        new = (
            AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=new_uri).first()
            if new_uri
            else None
        )
        if new is not None:
            _link_reschedule(old=appointment, new=new)
        else:
            _money_step("release", appointment.pk)
        return result
    if not by_host and _is_late(appointment=appointment, at=event_at):
        attendance.record_missed(
            appointment=appointment,
            status=AppointmentStatus.LATE_CANCELLED,
            actor=None,
            from_calendly=False,
            now=event_at,
        )
        result = AppointmentStatus.LATE_CANCELLED
    _money_step("release", appointment.pk)
    return result


def _invitee_no_show(event: CalendlyWebhookEvent) -> str:
    """`invitee_no_show.created`: the therapist marked the member a no-show in Calendly.
    Same as the clinician's mark: hold released, pending fee per the accepted policy."""
    invitee = event.event_data["payload"]
    appointment = AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=invitee["uri"]).first()
    if appointment is None:
        return "ignored_unknown_invitee"
    try:
        attendance.record_missed(
            appointment=appointment,
            status=AppointmentStatus.NO_SHOW,
            actor=None,
            from_calendly=True,
            now=max(_event_time(event.event_data), appointment.starts_at),
        )
    except ApplicationError:
        return f"ignored_{appointment.status}"
    _money_step("release", appointment.pk)
    return "no_show"


def _invitee_no_show_deleted(event: CalendlyWebhookEvent) -> str:
    """`invitee_no_show.deleted`: the mark was removed. Undone unless the fee was taken (then
    the fee row says staff must decide a refund)."""
    invitee = event.event_data["payload"]
    appointment = AppointmentData.objects.select_for_update().filter(calendly_invitee_uri=invitee["uri"]).first()
    if appointment is None:
        return "ignored_unknown_invitee"
    return attendance.appointment_no_show_undo(appointment=appointment)


class CalendlyProvider(WebhookProvider):
    """Calendly: `Calendly-Webhook-Signature`, keyed by `calendly_event_uuid`."""

    name = "calendly"
    model = CalendlyWebhookEvent
    id_field = "event_uuid"
    handlers = {
        "invitee.created": _invitee_created,
        "invitee.canceled": _invitee_canceled,
        "invitee_no_show.created": _invitee_no_show,
        "invitee_no_show.deleted": _invitee_no_show_deleted,
    }
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

    private_field = "intake_answers"

    def private_split(self, payload: dict) -> tuple[dict, object | None]:
        """The invitee's `questions_and_answers` (intake) go to the encrypted `intake_answers`."""
        invitee = payload.get("payload")
        if not isinstance(invitee, dict) or "questions_and_answers" not in invitee:
            return payload, None
        invitee = dict(invitee)
        answers = invitee.pop("questions_and_answers")
        return {**payload, "payload": invitee}, answers


PROVIDER = CalendlyProvider()
