"""Writes for appointments: reminders, payments, session notes, therapists, key rotation.

Calendly ingestion is in appointments/webhooks.py."""

from __future__ import annotations

import logging
import uuid
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import health_read_record
from billing import services as billing_services
from billing.models import PaymentIntent
from billing.models import PaymentStatus as BillingStatus
from bloom.exceptions import ApplicationError
from bloom.links import absolute_reverse
from notifications.models import EmailQueue
from notifications.services import EmailCategory, notification_create

from . import notes
from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentReminderLog,
    AppointmentStatus,
    PaymentKind,
    PaymentStatus,
    ReminderChannel,
    ReminderKind,
    SessionNote,
    TherapistProfile,
)

logger = logging.getLogger(__name__)

# --- Reminders -----------------------------------------------------------------------------------

# kind -> (starts more than, starts at most) this far ahead. A booking made less than a day
# ahead gets only the reminders whose window it is still in.
REMINDER_WINDOWS = {
    ReminderKind.DAY_BEFORE: (timedelta(hours=1), timedelta(hours=24)),
    ReminderKind.HOUR_BEFORE: (timedelta(0), timedelta(hours=1)),
}


def _member_tz(member: User) -> zoneinfo.ZoneInfo:
    name = getattr(getattr(member, "profile", None), "timezone", None) or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)


def appointment_reminders_due(*, kind: str, now: datetime):
    """Scheduled, member-linked appointments in `kind`'s window without that reminder yet,
    whose member has not turned appointment reminders off."""
    low, high = REMINDER_WINDOWS[kind]
    return (
        AppointmentData.objects.filter(
            status=AppointmentStatus.SCHEDULED,
            user__isnull=False,
            user__is_active=True,
            starts_at__gt=now + low,
            starts_at__lte=now + high,
        )
        .exclude(user__preferences__appointment_reminders=False)
        .exclude(reminder_logs__kind=kind, reminder_logs__channel=ReminderChannel.PORTAL)
        .select_related("user__profile", "therapist")
        .order_by("starts_at")
    )


def appointment_reminder_send(*, appointment: AppointmentData, kind: str) -> bool:
    """Send one reminder (portal notice, and email when the member's preferences say so).

    Guarantees: at most once per (appointment, kind, channel) — the reminder log row is
    inserted first under a unique constraint, in the same transaction as the notice and
    the outbox row, so a second run or a concurrent worker sends nothing. Clinical
    category mail. Returns True when this call sent it.
    """
    member = appointment.user
    when = timezone.localtime(appointment.starts_at, _member_tz(member))
    therapist = str(appointment.therapist) if appointment.therapist else "your Bloom therapist"
    label = "tomorrow" if kind == ReminderKind.DAY_BEFORE else "in about an hour"
    title = f"Your session {label}"
    message = f"Your session with {therapist} starts {when:%A %-d %B at %-I:%M %p} ({when.tzname()})."
    with transaction.atomic():
        try:
            with transaction.atomic():
                portal_log = AppointmentReminderLog.objects.create(
                    appointment=appointment, kind=kind, channel=ReminderChannel.PORTAL
                )
        except IntegrityError:
            return False
        notification = notification_create(
            member=member,
            type="appointment_reminder",
            title=title,
            message=message,
            data={"appointment_id": str(appointment.pk), "kind": kind},
            email_template="appointments/reminder",
            email_context={
                "therapist_name": therapist,
                "starts_at_local": f"{when:%A %-d %B %Y at %-I:%M %p} ({when.tzname()})",
                "zoom_meeting_url": appointment.zoom_meeting_url or "",
                "location": appointment.location or "",
                "appointments_url": absolute_reverse("appointments:appointment_list"),
                "kind": kind,
            },
            category=EmailCategory.CLINICAL,
        )
        portal_log.notification_id = notification.pk
        portal_log.save(update_fields=["notification_id"])
        # notification_create() keys its email on the notice (documented in notifications.services).
        email = EmailQueue.objects.filter(idempotency_key=f"notify:{notification.pk}").only("pk").first()
        if email is not None:
            AppointmentReminderLog.objects.create(
                appointment=appointment, kind=kind, channel=ReminderChannel.EMAIL, email_queue_id=email.pk
            )
    return True


def appointment_reminders_send(*, now: datetime | None = None) -> int:
    """Send every due reminder (beat task). Idempotent; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for kind in (ReminderKind.HOUR_BEFORE, ReminderKind.DAY_BEFORE):
        for appointment in appointment_reminders_due(kind=kind, now=now)[:500]:
            sent += appointment_reminder_send(appointment=appointment, kind=kind)
    return sent


# --- Payments (billing reports outcomes through billing/registry.py) ---------------------------

PURCHASE_KINDS = {
    "appointment_session_fee": PaymentKind.SESSION_FEE,
    "appointment_no_show_fee": PaymentKind.NO_SHOW_FEE,
    "appointment_late_cancel_fee": PaymentKind.LATE_CANCEL_FEE,
}


# The fees staff charge after a session, by the billing kind they are charged under.
FEE_KINDS = {
    PaymentKind.NO_SHOW_FEE: "appointment_no_show_fee",
    PaymentKind.LATE_CANCEL_FEE: "appointment_late_cancel_fee",
}


def appointment_fee_charge(*, appointment: AppointmentData, kind: str, amount: Decimal) -> PaymentIntent:
    """Charge a no-show or late-cancellation fee on the member's default card, off-session (billing).

    Refuses (ApplicationError) a kind that is not a fee, an appointment with no member, and
    one that already has a live fee of that kind or a charge of it still under way. What
    happens at Stripe is billing's (`payment_charge_off_session`): a refused card fails the
    payment and the member is told in Bloom's words; no clear answer leaves it "checking
    with Stripe", and charging again meanwhile re-sends that same request under the same
    idempotency key, so the card is never charged twice. The appointment_payments row is
    written when billing reports the payment paid (`appointment_payment_succeeded`).
    """
    billing_kind = FEE_KINDS.get(kind)
    if billing_kind is None:
        raise ApplicationError("Only a no-show or late-cancellation fee can be charged this way.")
    if appointment.user_id is None:
        raise ApplicationError("This appointment is not linked to a member, so there is no saved card to charge.")
    label = PaymentKind(kind).label
    live = [PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED]
    if AppointmentPayment.objects.filter(appointment=appointment, kind=kind, status__in=live).exists():
        raise ApplicationError(f"This appointment already has a {label.lower()}.")
    under_way = PaymentIntent.objects.filter(kind=billing_kind, object_id=str(appointment.pk)).filter(
        models.Q(status__in=[BillingStatus.PROCESSING, BillingStatus.REQUIRES_CAPTURE])
        | models.Q(status=BillingStatus.REQUIRES_PAYMENT, needs_action=True)
    )
    if under_way.exists():
        raise ApplicationError(f"A {label.lower()} for this appointment is already waiting for the member's bank.")
    when = timezone.localtime(appointment.starts_at, _member_tz(appointment.user))
    return billing_services.payment_charge_off_session(
        member=appointment.user,
        kind=billing_kind,
        object_id=str(appointment.pk),
        amount=amount,
        description=f"{label} for the session of {when:%B %-d, %Y}",
    )


def _appointment_for(payment) -> AppointmentData | None:
    try:
        return AppointmentData.objects.filter(pk=uuid.UUID(str(payment.object_id))).first()
    except ValueError:
        return None


def appointment_payment_succeeded(*, payment) -> None:
    """billing on_paid: record the captured amount against the appointment in `payment.object_id`.

    Idempotent (one appointment_payments row per billing payment). A second live fee of the
    same kind for one appointment is not recorded (the unique constraint refuses it) and is
    logged for staff to refund; billing's own state is never rolled back by this handler.
    """
    appointment = _appointment_for(payment)
    if appointment is None:
        logger.error("paid %s names no appointment (object_id %r)", payment.kind, payment.object_id)
        return
    try:
        with transaction.atomic():
            AppointmentPayment.objects.update_or_create(
                payment=payment,
                defaults={
                    "appointment": appointment,
                    "user": payment.user,
                    "kind": PURCHASE_KINDS[payment.kind],
                    "amount": payment.amount,
                    "currency": payment.currency,
                    "status": PaymentStatus.CAPTURED,
                    "captured_at": payment.paid_at or timezone.now(),
                },
            )
    except IntegrityError:
        logger.error(
            "appointment %s already has a live %s; payment %s needs a refund", appointment.pk, payment.kind, payment.pk
        )


def appointment_payment_failed(*, payment) -> None:
    """billing on_failed: mark the matching appointment payment failed (idempotent)."""
    AppointmentPayment.objects.filter(payment=payment).exclude(status=PaymentStatus.FAILED).update(
        status=PaymentStatus.FAILED
    )


def appointment_payment_refunded(*, payment, refund_amount, fully_refunded: bool) -> None:
    """billing on_refunded: a fully refunded fee is marked refunded (partial refunds stay captured)."""
    if fully_refunded:
        AppointmentPayment.objects.filter(payment=payment).update(status=PaymentStatus.REFUNDED)


# --- Session notes ------------------------------------------------------------------------------


def session_note_write(
    *, appointment: AppointmentData, author: User | None, body: str, template: str | None = None
) -> SessionNote:
    """Write the appointment's draft note (appointments/notes.py `session_note_draft_save`: one
    version per save; a signed note is refused, its changes are addenda)."""
    return notes.session_note_draft_save(appointment=appointment, author=author, body=body, template=template)


def session_note_reveal(*, note: SessionNote, staff_user: User, request=None) -> str:
    """The decrypted body for a staff member; every call writes one audit row first."""
    health_read_record(staff_user=staff_user, obj=note, request=request)
    return note.body


# --- Therapists -----------------------------------------------------------------------------------


def therapist_delete_refusal(*, therapist: TherapistProfile) -> str | None:
    """Why this therapist may not be deleted (they have appointments or notes), or None."""
    if AppointmentData.objects.filter(therapist=therapist).exists() or therapist.session_notes.exists():
        return (
            f"{therapist} has appointments, so the profile cannot be deleted. Archive it instead: "
            "it disappears from the directory and bookings keep their history."
        )
    return None


@transaction.atomic
def therapist_delete(*, therapist: TherapistProfile) -> None:
    """Delete a therapist who never had appointments or notes; otherwise raise ApplicationError."""
    refusal = therapist_delete_refusal(therapist=therapist)
    if refusal:
        raise ApplicationError(refusal)
    therapist.delete()
