"""Holds on the session fee: authorise off-session inside the card window, capture, release.

Every step writes `appointment_payments` and goes through billing's services under an
idempotency key built from Bloom's ids (`appt-<appointment uuid>-<what>-<n>`, docs/adr/0206):

- one key is one appointment_payments row (the column is unique) and one PaymentIntent at
  Stripe (billing sends the key as Stripe's and, asked again with it, returns the first
  payment — re-sending the same request when the first never heard Stripe's answer);
- the steps of one appointment take a session-level advisory lock, so two workers never
  run them at once, and a worker killed mid-step drops its connection and with it the lock;
- what Stripe said is copied onto the row: `authorized`, `captured`, `released`, `failed`
  (with billing's message in Bloom's words; billing has emailed the member), or `checking`
  when Stripe gave no clear answer (billing asks again with the same key; the beat task
  copies its answer here).

`held` is a hold on the card; the session fee is captured from it when the clinician marks
the session attended, and released when the session will not happen at the fee (cancelled,
rescheduled, late-cancelled or missed: those fees are separate and need confirmation).
"""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.models import PaymentIntent
from billing.models import PaymentStatus as BillingStatus
from bloom.exceptions import ApplicationError
from notifications.services import notification_create

from .models import (
    LIVE_PAYMENT_STATUSES,
    AppointmentData,
    AppointmentPayment,
    AppointmentStatus,
    PaymentKind,
    PaymentStatus,
)

SESSION_BILLING_KIND = "appointment_session_fee"
BILLING_KINDS = {
    PaymentKind.SESSION_FEE: SESSION_BILLING_KIND,
    PaymentKind.NO_SHOW_FEE: "appointment_no_show_fee",
    PaymentKind.LATE_CANCEL_FEE: "appointment_late_cancel_fee",
}
# Statuses in which a hold on the session fee must not stay on the card.
RELEASE_STATUSES = (
    AppointmentStatus.CANCELLED,
    AppointmentStatus.RESCHEDULED,
    AppointmentStatus.LATE_CANCELLED,
    AppointmentStatus.NO_SHOW,
)
CHECKING_MESSAGE = "Stripe has not confirmed this yet; Bloom asks again automatically. Nothing is charged twice."
NEEDS_ACTION_MESSAGE = "Waiting for the member to confirm the payment with her bank (billing sent her a link)."


@contextmanager
def appointment_money_lock(appointment_id):
    """Serialise the money steps of one appointment across workers (session-level advisory
    lock: held across the Stripe call, which must not sit inside a transaction, and released
    by PostgreSQL if the worker dies)."""
    name = f"bloom.appointment-money:{appointment_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [name])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


def payment_key(*, appointment: AppointmentData, what: str, attempt: int) -> str:
    return f"appt-{appointment.pk}-{what}-{attempt}"


def _next_key(*, appointment: AppointmentData, kind: str, what: str) -> str:
    attempts = AppointmentPayment.objects.filter(appointment=appointment, kind=kind).count()
    return payment_key(appointment=appointment, what=what, attempt=attempts + 1)


def session_fee_for(appointment: AppointmentData) -> Decimal | None:
    """The session fee: as she accepted it with the policy, else the therapist's fee or rate."""
    policy = appointment.policy_acceptance
    if policy is not None and policy.session_fee:
        return policy.session_fee
    therapist = appointment.therapist
    if therapist is None:
        return None
    return therapist.session_fee or therapist.hourly_rate or None


def _local(appointment: AppointmentData) -> datetime:
    name = getattr(getattr(appointment.user, "profile", None), "timezone", None) or appointment.timezone
    try:
        zone = zoneinfo.ZoneInfo(name or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
    return timezone.localtime(appointment.starts_at, zone)


def description_for(appointment: AppointmentData, kind: str) -> str:
    return f"{PaymentKind(kind).label} for the session of {_local(appointment):%B %-d, %Y}"


def _row_status(payment: PaymentIntent) -> str:
    if payment.status == BillingStatus.REQUIRES_CAPTURE:
        return PaymentStatus.AUTHORIZED
    if payment.is_paid:
        return PaymentStatus.REFUNDED if payment.status == BillingStatus.REFUNDED else PaymentStatus.CAPTURED
    if payment.status == BillingStatus.CANCELED:
        return PaymentStatus.RELEASED
    if payment.status == BillingStatus.FAILED:
        return PaymentStatus.FAILED
    # Stripe has not answered, or the member was asked (by billing) to confirm with her bank:
    # either way the row is asked about again under its key.
    return PaymentStatus.CHECKING


def row_sync(*, row: AppointmentPayment, payment: PaymentIntent) -> AppointmentPayment:
    """Copy billing's state of `payment` onto the appointment payment row (idempotent)."""
    payment.refresh_from_db()
    status = _row_status(payment)
    now = timezone.now()
    updates: dict = {"payment": payment, "status": status}
    if status == PaymentStatus.AUTHORIZED and row.authorized_at is None:
        updates["authorized_at"] = now
    if status == PaymentStatus.CAPTURED:
        updates["amount"] = payment.amount
        updates["captured_at"] = row.captured_at or payment.paid_at or now
    if status == PaymentStatus.RELEASED and row.released_at is None:
        updates["released_at"] = now
    if status == PaymentStatus.FAILED:
        updates["failure_message"] = payment.failure_message or "The card was not charged."
    elif status == PaymentStatus.CHECKING:
        updates["failure_message"] = NEEDS_ACTION_MESSAGE if payment.needs_action else CHECKING_MESSAGE
    else:
        updates["failure_message"] = ""
    for name, value in updates.items():
        setattr(row, name, value)
    row.save(update_fields=list(updates))
    return row


def row_charge(*, row: AppointmentPayment, appointment: AppointmentData, capture_method: str) -> AppointmentPayment:
    """Authorise (`manual`) or charge (`automatic`) the row's amount under the row's key,
    and copy the outcome onto the row. Call under `appointment_money_lock`, outside any
    transaction."""
    call = (
        billing_services.payment_authorize
        if capture_method == "manual"
        else billing_services.payment_charge_off_session
    )
    extra = {"charge_date": appointment.starts_at} if capture_method == "manual" else {}
    try:
        payment = call(
            member=appointment.user,
            kind=BILLING_KINDS[row.kind],
            object_id=str(appointment.pk),
            amount=row.amount,
            description=description_for(appointment, row.kind),
            idempotency_key=row.idempotency_key,
            **extra,
        )
    except ApplicationError as exc:
        # No card on file, or a request Stripe has not settled that cannot change.
        with transaction.atomic():
            row.status, row.failure_message = PaymentStatus.FAILED, str(exc)
            row.save(update_fields=["status", "failure_message"])
            if row.kind == PaymentKind.SESSION_FEE:
                _tell_member_hold_failed(appointment)
        return row
    return row_sync(row=row, payment=payment)


def _tell_member_hold_failed(appointment: AppointmentData) -> None:
    """A kind notice (and email) once per failed row: her booking stands. When she has no
    saved card she is asked to add one; otherwise (a refusal that is ours to sort out, whose
    reason staff see on the row) she is told nothing was charged and the practice will be in touch."""
    has_card = billing_selectors.payment_method_list_for_member(member=appointment.user).exists()
    when = f"{_local(appointment):%A %-d %B at %-I:%M %p}"
    if has_card:
        title = "About the fee for your session"
        message = (
            f"Your session on {when} is still booked. We couldn't place the hold for the session fee, "
            "so nothing was charged. There is nothing you need to do; the practice will contact you if anything is needed."
        )
    else:
        title = "Please add a card for your session"
        message = (
            f"Your session on {when} is still booked. "
            "We couldn't find a saved card to hold the session fee, so nothing was charged. "
            "Please add a card on your billing page before the session."
        )
    notification_create(
        member=appointment.user,
        type="appointment_card_needed",
        title=title,
        message=message,
        data={"appointment_id": str(appointment.pk)},
    )


def _live_row(appointment: AppointmentData, kind: str) -> AppointmentPayment | None:
    return (
        AppointmentPayment.objects.filter(appointment=appointment, kind=kind, status__in=LIVE_PAYMENT_STATUSES)
        .select_related("payment")
        .first()
    )


def _fresh(appointment_id) -> AppointmentData:
    return AppointmentData.objects.select_related("user__profile", "therapist", "policy_acceptance").get(
        pk=appointment_id
    )


def hold_refusal(*, appointment: AppointmentData, now: datetime) -> str | None:
    """Why no hold is placed for this appointment now (None: one may be)."""
    if appointment.status != AppointmentStatus.SCHEDULED:
        return "The appointment is not scheduled."
    if appointment.user_id is None:
        return "The appointment is not linked to a member."
    if not session_fee_for(appointment):
        return "There is no session fee to hold."
    if appointment.starts_at <= now:
        return "The session has started."
    if appointment.starts_at - now > billing_services.AUTHORIZE_WINDOW:
        return "Too early: a card is authorised at most 6 days before the session."
    return None


def appointment_hold_place(*, appointment_id, now: datetime | None = None) -> AppointmentPayment | None:
    """Authorise the session fee on the member's card, off-session, once per appointment.

    Idempotent: an appointment with a live session-fee row keeps it (a `checking` row is
    asked about again under its key). Returns the row, or None when no hold is due
    (`hold_refusal`). A refused card leaves a `failed` row (billing told the member in
    Bloom's words); the beat task tries again only once she has saved a card since (`holds_due`).
    """
    now = now or timezone.now()
    with appointment_money_lock(appointment_id):
        appointment = _fresh(appointment_id)
        row = _live_row(appointment, PaymentKind.SESSION_FEE)
        if row is not None and row.status != PaymentStatus.CHECKING:
            return row
        if row is None:
            if hold_refusal(appointment=appointment, now=now):
                return None
            row = AppointmentPayment.objects.create(
                appointment=appointment,
                user=appointment.user,
                kind=PaymentKind.SESSION_FEE,
                amount=session_fee_for(appointment),
                currency=appointment.policy_acceptance.currency if appointment.policy_acceptance else "usd",
                status=PaymentStatus.CHECKING,
                idempotency_key=_next_key(appointment=appointment, kind=PaymentKind.SESSION_FEE, what="hold"),
            )
        return row_charge(row=row, appointment=appointment, capture_method="manual")


def appointment_hold_release(*, appointment_id) -> AppointmentPayment | None:
    """Release the session-fee hold of an appointment at once (cancelled, moved, missed).

    Does nothing without an authorised hold. When Stripe does not answer, the row stays
    `authorized` with a note for staff and billing asks again under the same key; the beat
    task copies the answer. Returns the row.
    """
    with appointment_money_lock(appointment_id):
        appointment = _fresh(appointment_id)
        row = _live_row(appointment, PaymentKind.SESSION_FEE)
        if row is not None and row.status == PaymentStatus.CHECKING:
            # A hold Stripe had not confirmed: ask again first, then let go of what it holds.
            row = row_charge(row=row, appointment=appointment, capture_method="manual")
        if row is None or row.status != PaymentStatus.AUTHORIZED or row.payment is None:
            return row
        try:
            payment = billing_services.payment_release(payment=row.payment)
        except billing_services.PaymentOutcomeUnknown:
            row.failure_message = "Releasing the hold: " + CHECKING_MESSAGE
            row.save(update_fields=["failure_message"])
            return row
        except ApplicationError as exc:
            row.failure_message = str(exc)
            row.save(update_fields=["failure_message"])
            return row
        return row_sync(row=row, payment=payment)


def appointment_hold_capture(*, appointment_id, amount: Decimal | None = None) -> AppointmentPayment | None:
    """Take the session fee after an attended session: capture the hold (in full, or
    `amount` of it), or — when there is no hold — charge the fee off-session once.

    Idempotent per key; returns the row (`captured`, `failed` or `checking`), or None when
    there is no member or no fee.
    """
    with appointment_money_lock(appointment_id):
        appointment = _fresh(appointment_id)
        row = _live_row(appointment, PaymentKind.SESSION_FEE)
        if row is not None and row.status == PaymentStatus.CHECKING:
            # A hold Stripe had not confirmed: ask again first, then capture what it holds.
            row = row_charge(row=row, appointment=appointment, capture_method="manual")
        if row is not None and row.status == PaymentStatus.AUTHORIZED and row.payment is not None:
            # The clinician's partial amount is kept on the row, so a retry (the sweep, after
            # Stripe did not answer) takes the same amount, never the whole hold.
            if amount is not None and row.capture_amount != amount:
                row.capture_amount = amount
                row.save(update_fields=["capture_amount"])
            amount = row.capture_amount if amount is None else amount
            try:
                payment = billing_services.payment_capture(payment=row.payment, amount=amount)
            except billing_services.PaymentOutcomeUnknown:
                row.failure_message = "Capturing the session fee: " + CHECKING_MESSAGE
                row.save(update_fields=["failure_message"])
                return row
            return row_sync(row=row, payment=payment)
        if row is not None or appointment.user_id is None:
            return row
        fee = amount or session_fee_for(appointment)
        if not fee:
            return None
        row = AppointmentPayment.objects.create(
            appointment=appointment,
            user=appointment.user,
            kind=PaymentKind.SESSION_FEE,
            amount=fee,
            status=PaymentStatus.CHECKING,
            idempotency_key=_next_key(appointment=appointment, kind=PaymentKind.SESSION_FEE, what="charge"),
        )
        return row_charge(row=row, appointment=appointment, capture_method="automatic")


def appointment_hold_move(*, old_id, new_id, now: datetime | None = None) -> None:
    """A reschedule: release the old booking's hold and hold again for the new time (when
    inside the card window; otherwise the beat task holds it later). Never a fee."""
    appointment_hold_release(appointment_id=old_id)
    appointment_hold_place(appointment_id=new_id, now=now)


def holds_due(*, now: datetime):
    """Scheduled, member-linked appointments inside the card window with no session-fee row
    yet, or with one still being checked with Stripe, or whose last hold failed and the member
    has saved a card since (the notice asked her to: her new card is tried once)."""
    session_rows = AppointmentPayment.objects.filter(appointment=OuterRef("pk"), kind=PaymentKind.SESSION_FEE)
    last_failed_at = Subquery(
        AppointmentPayment.objects.filter(
            appointment=OuterRef(OuterRef("pk")), kind=PaymentKind.SESSION_FEE, status=PaymentStatus.FAILED
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    card_since_failure = billing_selectors.payment_method_list_for_member(member=OuterRef("user")).filter(
        created_at__gt=last_failed_at
    )
    return (
        AppointmentData.objects.filter(
            status=AppointmentStatus.SCHEDULED,
            user__isnull=False,
            starts_at__gt=now,
            starts_at__lte=now + billing_services.AUTHORIZE_WINDOW,
        )
        .filter(
            ~Exists(session_rows)
            | Exists(session_rows.filter(status=PaymentStatus.CHECKING))
            | (~Exists(session_rows.filter(status__in=LIVE_PAYMENT_STATUSES)) & Exists(card_since_failure))
        )
        .order_by("starts_at")
        .values_list("pk", flat=True)
    )


def releases_due():
    """Appointments that will not happen at the session fee but still hold it on the card (or
    may: a hold still being confirmed)."""
    return (
        AppointmentPayment.objects.filter(
            kind=PaymentKind.SESSION_FEE,
            status__in=(PaymentStatus.AUTHORIZED, PaymentStatus.CHECKING),
            appointment__status__in=RELEASE_STATUSES,
        )
        .order_by("created_at")
        .values_list("appointment_id", flat=True)
    )


def captures_due():
    """Attended sessions whose hold was still being confirmed when the clinician marked them."""
    return (
        AppointmentPayment.objects.filter(
            kind=PaymentKind.SESSION_FEE,
            status__in=(PaymentStatus.AUTHORIZED, PaymentStatus.CHECKING),
            appointment__status=AppointmentStatus.COMPLETED,
        )
        .order_by("created_at")
        .values_list("appointment_id", flat=True)
    )


def fees_checking():
    """Fee rows whose charge Stripe has not confirmed yet."""
    return (
        AppointmentPayment.objects.filter(status=PaymentStatus.CHECKING)
        .exclude(kind=PaymentKind.SESSION_FEE)
        .values_list("pk", flat=True)
    )


def appointment_holds_sweep(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Beat (every 15 minutes): place due holds, release holds that must go, capture holds of
    attended sessions (marked while Stripe was still confirming the hold or the capture; the
    amount the clinician asked for, kept on the row, else in full), and copy
    billing's settled answers onto rows still `checking`. Idempotent; returns counts."""
    now = now or timezone.now()
    counts = {"held": 0, "released": 0, "captured": 0, "checked": 0}
    for pk in list(holds_due(now=now)[:limit]):
        row = appointment_hold_place(appointment_id=pk, now=now)
        counts["held"] += bool(row and row.status == PaymentStatus.AUTHORIZED)
    for pk in list(releases_due()[:limit]):
        row = appointment_hold_release(appointment_id=pk)
        counts["released"] += bool(row and row.status == PaymentStatus.RELEASED)
    for pk in list(captures_due()[:limit]):
        row = appointment_hold_capture(appointment_id=pk)
        counts["captured"] += bool(row and row.status == PaymentStatus.CAPTURED)
    for row in AppointmentPayment.objects.filter(pk__in=list(fees_checking()[:limit])).select_related("appointment"):
        with appointment_money_lock(row.appointment_id):
            row.refresh_from_db()
            if row.status == PaymentStatus.CHECKING:
                row_charge(row=row, appointment=_fresh(row.appointment_id), capture_method="automatic")
                counts["checked"] += 1
    return counts
