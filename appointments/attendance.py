"""Attendance and fees: what the clinician (or Calendly's no-show mark) records after a session.

- Attended: the session fee is captured from the hold (in full or in part), or charged once
  when there is no hold.
- No-show / late-cancelled: the hold is released and a *pending* fee is written, at the
  amount of the policy the member accepted for this booking; nothing is charged until the
  clinician confirms it (`appointment_fee_confirm`), and a pending or failed fee can be
  waived with a reason (`appointment_fee_waive`).
- Never a fee for a cancellation by the therapist or the practice, for an allowed
  reschedule, or without an accepted policy that names one.

Only the appointment's own therapist (their login) or the practice owner (a superuser) may
mark attendance or decide a fee (`may_mark_attendance`). These services are the entry
points for the admin change page (admin_attendance.py) and for the clinician's workspace;
callers audit the staff action the way their surface does (the admin writes a LogEntry,
mirrored into admin_activity_log).

Stripe calls happen outside transactions and under the appointment's money lock
(appointments/holds.py), so a retry or a second click never charges twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from bloom.exceptions import ApplicationError

from . import holds
from .models import (
    LIVE_PAYMENT_STATUSES,
    AppointmentData,
    AppointmentPayment,
    AppointmentStatus,
    CancelledBy,
    PaymentKind,
    PaymentStatus,
)

FEE_FOR_STATUS = {
    AppointmentStatus.NO_SHOW: PaymentKind.NO_SHOW_FEE,
    AppointmentStatus.LATE_CANCELLED: PaymentKind.LATE_CANCEL_FEE,
}
_KEY_WORD = {PaymentKind.NO_SHOW_FEE: "noshow", PaymentKind.LATE_CANCEL_FEE: "latecancel"}
UNDONE_AFTER_CHARGE = "The no-show mark was removed in Calendly after this fee was taken: decide whether to refund it."


def may_mark_attendance(*, actor: User | None, appointment: AppointmentData) -> bool:
    """The appointment's own therapist, or the practice owner (a superuser)."""
    if actor is None or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    therapist = appointment.therapist
    return therapist is not None and therapist.user_id is not None and therapist.user_id == actor.pk


def _require(actor: User | None, appointment: AppointmentData) -> None:
    if not may_mark_attendance(actor=actor, appointment=appointment):
        raise ApplicationError("Only this session's therapist or the practice owner can record attendance or fees.")


def _locked(appointment: AppointmentData) -> AppointmentData:
    return (
        AppointmentData.objects.select_for_update(of=("self",))
        .select_related("therapist", "policy_acceptance")
        .get(pk=appointment.pk)
    )


def fee_amount(*, appointment: AppointmentData, kind: str) -> Decimal | None:
    """The fee of `kind` in the policy the member accepted for this booking (None: no fee)."""
    policy = appointment.policy_acceptance
    if policy is None:
        return None
    amount = policy.no_show_fee if kind == PaymentKind.NO_SHOW_FEE else policy.late_cancel_fee
    return amount if amount and amount > 0 else None


def fee_pending_create(*, appointment: AppointmentData, kind: str) -> AppointmentPayment | None:
    """Write the pending fee of `kind` (awaiting the clinician's confirmation), once.

    Returns the live fee row of that kind if there is one, None when the accepted policy
    has no such fee, the booking was cancelled by the therapist or the practice, or it has
    no member. Call inside the transaction that changed the appointment's status.
    """
    if appointment.user_id is None or appointment.cancelled_by in (CancelledBy.HOST, CancelledBy.STAFF):
        return None
    live = AppointmentPayment.objects.filter(appointment=appointment, kind=kind, status__in=LIVE_PAYMENT_STATUSES)
    if (row := live.first()) is not None:
        return row
    amount = fee_amount(appointment=appointment, kind=kind)
    if amount is None:
        return None
    attempts = AppointmentPayment.objects.filter(appointment=appointment, kind=kind).count()
    return AppointmentPayment.objects.create(
        appointment=appointment,
        user_id=appointment.user_id,
        kind=kind,
        amount=amount,
        currency=appointment.policy_acceptance.currency,
        status=PaymentStatus.PENDING,
        idempotency_key=holds.payment_key(appointment=appointment, what=_KEY_WORD[kind], attempt=attempts + 1),
    )


def _close_pending(*, appointment: AppointmentData, kind: str, reason: str, by: User | None = None) -> int:
    return AppointmentPayment.objects.filter(appointment=appointment, kind=kind, status=PaymentStatus.PENDING).update(
        status=PaymentStatus.WAIVED, waived_at=timezone.now(), waived_by=by, waive_reason=reason
    )


def _mark(appointment: AppointmentData, *, status: str, actor: User | None) -> None:
    appointment.status = status
    appointment.attendance_marked_at = timezone.now()
    appointment.attendance_marked_by = actor
    appointment.save(update_fields=["status", "attendance_marked_at", "attendance_marked_by", "updated_at"])


def appointment_mark_attended(
    *, appointment: AppointmentData, actor: User, amount: Decimal | None = None, now: datetime | None = None
) -> AppointmentPayment | None:
    """Record that the session took place and take the session fee (`amount`: a partial
    capture, at most the hold). A no-show mark not yet charged is withdrawn. Idempotent for
    the status; the capture runs once per key. Returns the session-fee row (or None)."""
    now = now or timezone.now()
    _require(actor, appointment)
    if amount is not None:
        amount = Decimal(amount).quantize(Decimal("0.01"))
        if amount <= 0:
            raise ApplicationError("The amount to take must be more than zero.")
    with transaction.atomic():
        locked = _locked(appointment)
        if locked.starts_at > now:
            raise ApplicationError("A session can be marked attended once it has started.")
        if locked.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED):
            raise ApplicationError(f"This appointment is {locked.get_status_display().lower()}; it cannot be attended.")
        if locked.status == AppointmentStatus.NO_SHOW:
            if AppointmentPayment.objects.filter(
                appointment=locked,
                kind=PaymentKind.NO_SHOW_FEE,
                status__in=(PaymentStatus.CHECKING, PaymentStatus.CAPTURED),
            ).exists():
                raise ApplicationError("A no-show fee was already taken for this session; refund it first.")
            _close_pending(appointment=locked, kind=PaymentKind.NO_SHOW_FEE, reason="Marked attended.", by=actor)
        if locked.status != AppointmentStatus.COMPLETED:
            _mark(locked, status=AppointmentStatus.COMPLETED, actor=actor)
    return holds.appointment_hold_capture(appointment_id=appointment.pk, amount=amount)


def record_missed(
    *, appointment: AppointmentData, status: str, actor: User | None, from_calendly: bool, now: datetime
) -> AppointmentPayment | None:
    """Inside the caller's transaction: mark the appointment no-show or late-cancelled and
    write the pending fee. The caller releases the hold after commit (holds.py). Idempotent."""
    kind = FEE_FOR_STATUS[status]
    locked = _locked(appointment)
    if locked.status == status:
        return fee_pending_create(appointment=locked, kind=kind)
    allowed = [AppointmentStatus.SCHEDULED]
    if status == AppointmentStatus.LATE_CANCELLED:
        allowed.append(AppointmentStatus.CANCELLED)  # a member's cancellation, recorded as late
    if locked.status not in allowed or locked.cancelled_by in (CancelledBy.HOST, CancelledBy.STAFF):
        raise ApplicationError(
            f"This appointment is {locked.get_status_display().lower()}"
            + (f" by {locked.get_cancelled_by_display().lower()}" if locked.cancelled_by else "")
            + "; no fee applies."
        )
    if status == AppointmentStatus.NO_SHOW and locked.starts_at > now:
        raise ApplicationError("A session can be marked missed once it has started.")
    if from_calendly:
        locked.no_show_marked_in_calendly_at = now
        locked.save(update_fields=["no_show_marked_in_calendly_at"])
    _mark(locked, status=status, actor=actor)
    return fee_pending_create(appointment=locked, kind=kind)


def _mark_missed(
    *, appointment: AppointmentData, status: str, actor: User | None, from_calendly: bool, now: datetime
) -> AppointmentPayment | None:
    with transaction.atomic():
        row = record_missed(appointment=appointment, status=status, actor=actor, from_calendly=from_calendly, now=now)
    holds.appointment_hold_release(appointment_id=appointment.pk)
    return row


def appointment_mark_no_show(
    *, appointment: AppointmentData, actor: User | None, from_calendly: bool = False, now: datetime | None = None
) -> AppointmentPayment | None:
    """Record a missed session: release the hold, write the pending no-show fee (per the
    accepted policy) for the clinician to confirm. `actor` None with `from_calendly` is
    Calendly's own mark. Idempotent. Returns the pending fee row, or None (no fee)."""
    if not from_calendly:
        _require(actor, appointment)
    return _mark_missed(
        appointment=appointment,
        status=AppointmentStatus.NO_SHOW,
        actor=actor,
        from_calendly=from_calendly,
        now=now or timezone.now(),
    )


def appointment_mark_late_cancelled(
    *, appointment: AppointmentData, actor: User | None, now: datetime | None = None
) -> AppointmentPayment | None:
    """Record a late cancellation by the member: release the hold, write the pending fee.
    Refused for a cancellation by the therapist or the practice. Idempotent."""
    if actor is not None:
        _require(actor, appointment)
    return _mark_missed(
        appointment=appointment,
        status=AppointmentStatus.LATE_CANCELLED,
        actor=actor,
        from_calendly=False,
        now=now or timezone.now(),
    )


def appointment_no_show_undo(*, appointment: AppointmentData, now: datetime | None = None) -> str:
    """Calendly's no-show mark was removed: back to scheduled and the pending fee withdrawn;
    a fee already taken (or being taken) stays and is flagged for staff to decide a refund.
    Returns "undone", "needs_refund_decision" or "ignored"."""
    with transaction.atomic():
        locked = _locked(appointment)
        if locked.status != AppointmentStatus.NO_SHOW:
            return "ignored"
        taken = AppointmentPayment.objects.filter(
            appointment=locked,
            kind=PaymentKind.NO_SHOW_FEE,
            status__in=(PaymentStatus.CHECKING, PaymentStatus.CAPTURED),
        )
        if taken.exists():
            taken.update(failure_message=UNDONE_AFTER_CHARGE)
            return "needs_refund_decision"
        _close_pending(
            appointment=locked, kind=PaymentKind.NO_SHOW_FEE, reason="The no-show mark was removed in Calendly."
        )
        locked.status = AppointmentStatus.SCHEDULED
        locked.no_show_marked_in_calendly_at = None
        locked.attendance_marked_at = None
        locked.attendance_marked_by = None
        locked.save(
            update_fields=[
                "status",
                "no_show_marked_in_calendly_at",
                "attendance_marked_at",
                "attendance_marked_by",
                "updated_at",
            ]
        )
    return "undone"


def _fee_row(row: AppointmentPayment) -> AppointmentPayment:
    row = AppointmentPayment.objects.select_related("appointment__therapist", "appointment__policy_acceptance").get(
        pk=row.pk
    )
    if row.kind not in FEE_FOR_STATUS.values():
        raise ApplicationError("Only a no-show or late-cancellation fee is confirmed or waived here.")
    return row


def appointment_fee_confirm(*, row: AppointmentPayment, actor: User) -> AppointmentPayment:
    """The clinician confirms a pending fee: charge it off-session on the member's card.

    One charge per fee row (its idempotency key is Stripe's); confirming twice, or while
    Stripe has not answered, never charges again. A failed fee may be confirmed again (for
    example after the member added a card): that is a new row under the next key. Returns
    the row charged (`captured`, `failed` — billing told the member — or `checking`).
    """
    row = _fee_row(row)
    appointment = row.appointment
    _require(actor, appointment)
    if FEE_FOR_STATUS.get(appointment.status) != row.kind:
        raise ApplicationError("The appointment's attendance no longer calls for this fee.")
    if row.status == PaymentStatus.FAILED:
        with transaction.atomic():
            _locked(appointment)
            row = fee_pending_create(appointment=appointment, kind=row.kind)
        if row is None:
            raise ApplicationError("The accepted policy has no such fee.")
    if row.status not in (PaymentStatus.PENDING, PaymentStatus.CHECKING):
        raise ApplicationError(f"This fee is {row.get_status_display().lower()}; there is nothing to confirm.")
    with holds.appointment_money_lock(appointment.pk):
        row.refresh_from_db()
        if row.status not in (PaymentStatus.PENDING, PaymentStatus.CHECKING):
            return row
        AppointmentPayment.objects.filter(pk=row.pk).update(status=PaymentStatus.CHECKING)
        row.status = PaymentStatus.CHECKING
        return holds.row_charge(row=row, appointment=appointment, capture_method="automatic")


def appointment_fee_waive(*, row: AppointmentPayment, actor: User, reason: str) -> AppointmentPayment:
    """Waive a pending (or failed) fee with a reason; nothing is charged. Idempotent for a
    waived fee; refused for a fee already taken or being taken."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Please give a reason for waiving the fee.")
    row = _fee_row(row)
    _require(actor, row.appointment)
    with transaction.atomic():
        locked = AppointmentPayment.objects.select_for_update().get(pk=row.pk)
        if locked.status == PaymentStatus.WAIVED:
            return locked
        if locked.status not in (PaymentStatus.PENDING, PaymentStatus.FAILED):
            raise ApplicationError(f"This fee is {locked.get_status_display().lower()}; it can no longer be waived.")
        locked.status = PaymentStatus.WAIVED
        locked.waived_at = timezone.now()
        locked.waived_by = actor
        locked.waive_reason = reason
        locked.save(update_fields=["status", "waived_at", "waived_by", "waive_reason"])
        return locked


MARK_LABELS = {"attended": "Mark attended", "no_show": "Mark no-show", "late_cancelled": "Mark late-cancelled"}


def marks_available(*, appointment: AppointmentData, now: datetime | None = None) -> list[tuple[str, str]]:
    """The attendance marks the appointment's state allows now, as (mark, label)."""
    now = now or timezone.now()
    started = appointment.starts_at <= now
    marks = []
    if started and appointment.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.NO_SHOW):
        marks.append("attended")
    if started and appointment.status == AppointmentStatus.SCHEDULED:
        marks.append("no_show")
    if appointment.status == AppointmentStatus.SCHEDULED or (
        appointment.status == AppointmentStatus.CANCELLED and appointment.cancelled_by == CancelledBy.INVITEE
    ):
        marks.append("late_cancelled")
    return [(mark, MARK_LABELS[mark]) for mark in marks]


def attendance_links(*, appointment: AppointmentData, actor: User | None, now: datetime | None = None) -> list[dict]:
    """The attendance and fee actions `actor` may take on `appointment` now, as links to the
    admin pages that confirm and apply them (for the clinician's workspace): dicts with
    `label` and `url`. Empty for anyone but the session's therapist or the owner."""
    from django.urls import reverse

    if not may_mark_attendance(actor=actor, appointment=appointment):
        return []
    links = [
        {"label": label, "url": reverse("admin:appointments_appointmentdata_attendance", args=[appointment.pk, mark])}
        for mark, label in marks_available(appointment=appointment, now=now)
    ]
    fees = AppointmentPayment.objects.filter(
        appointment=appointment,
        kind__in=list(FEE_FOR_STATUS.values()),
        status__in=(PaymentStatus.PENDING, PaymentStatus.FAILED),
    ).order_by("created_at")
    for fee in fees:
        for verb, name in (("Confirm", "fee_confirm"), ("Waive", "fee_waive")):
            links.append(
                {
                    "label": f"{verb} the {fee.get_kind_display().lower()} ({fee.amount} {fee.currency.upper()})",
                    "url": reverse(f"admin:appointments_appointmentdata_{name}", args=[appointment.pk, fee.pk]),
                }
            )
    return links
