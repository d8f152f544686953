"""Writes for appointments: payments, session notes, therapists, key rotation.

Calendly ingestion is in appointments/webhooks.py, reminders in appointments/reminders.py."""

from __future__ import annotations

import logging
import uuid
import zoneinfo
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

from . import notes
from .models import (
    LIVE_PAYMENT_STATUSES,
    AppointmentData,
    AppointmentPayment,
    PaymentKind,
    PaymentStatus,
    SessionNote,
    TherapistProfile,
)

logger = logging.getLogger(__name__)


def _member_tz(member: User) -> zoneinfo.ZoneInfo:
    name = getattr(getattr(member, "profile", None), "timezone", None) or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)


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
    if AppointmentPayment.objects.filter(appointment=appointment, kind=kind, status__in=LIVE_PAYMENT_STATUSES).exists():
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


def _row_for(payment) -> AppointmentPayment | None:
    """The appointment payment row a billing payment belongs to: linked already, or named by
    the idempotency key the row gave billing (appointments/holds.py)."""
    row = AppointmentPayment.objects.filter(payment=payment).first()
    key = (payment.metadata or {}).get(billing_services.REQUEST_KEY)
    if row is None and key:
        row = AppointmentPayment.objects.filter(idempotency_key=key).first()
    return row


def appointment_payment_succeeded(*, payment) -> None:
    """billing on_paid: record the captured amount against the appointment in `payment.object_id`.

    Idempotent. A payment made for an appointment payment row (a hold, a confirmed fee)
    marks that row captured; one made without (an older direct charge) gets a row of its
    own. A second live fee of the same kind for one appointment is not recorded (the unique
    constraint refuses it) and is logged for staff to refund; billing's own state is never
    rolled back by this handler.
    """
    appointment = _appointment_for(payment)
    if appointment is None:
        logger.error("paid %s names no appointment (object_id %r)", payment.kind, payment.object_id)
        return
    values = {
        "appointment": appointment,
        "user": payment.user,
        "kind": PURCHASE_KINDS[payment.kind],
        "amount": payment.amount,
        "currency": payment.currency,
        "status": PaymentStatus.CAPTURED,
        "captured_at": payment.paid_at or timezone.now(),
        "failure_message": "",
    }
    try:
        with transaction.atomic():
            row = _row_for(payment)
            if row is None:
                AppointmentPayment.objects.create(payment=payment, **values)
            else:
                AppointmentPayment.objects.filter(pk=row.pk).update(payment=payment, **values)
    except IntegrityError:
        logger.error(
            "appointment %s already has a live %s; payment %s needs a refund", appointment.pk, payment.kind, payment.pk
        )


def appointment_payment_failed(*, payment) -> None:
    """billing on_failed: a failed payment fails its row (with billing's message, in Bloom's
    words); a cancelled one (a released or lapsed hold) releases it. Idempotent."""
    row = _row_for(payment)
    if row is None or row.status in (PaymentStatus.FAILED, PaymentStatus.RELEASED):
        return
    if payment.status == BillingStatus.CANCELED:
        updates = {"status": PaymentStatus.RELEASED, "released_at": timezone.now()}
    else:
        updates = {"status": PaymentStatus.FAILED, "failure_message": payment.failure_message or ""}
    AppointmentPayment.objects.filter(pk=row.pk).update(payment=payment, **updates)


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
