"""Payments for seats: billing's checkout, and the outcomes billing reports (workshops/apps.py registers the kind)."""

from __future__ import annotations

import logging
from decimal import Decimal

from bloom.exceptions import ApplicationError

from ..models import (
    PaymentStatus,
    RegistrationStatus,
    WorkshopRegistration,
)
from ..selectors import registration_active_q, workshop_seats_held
from .notices import registration_notice_queue
from .seats import registration_cancel_locked, waitlist_seats_offer, workshop_lock

logger = logging.getLogger(__name__)


PURCHASE_KIND = "workshop_registration"


def registration_checkout_start(*, registration: WorkshopRegistration, success_url: str, cancel_url: str) -> str:
    """Start billing's checkout for a seat awaiting payment; returns where to send the member.

    When Stripe cannot start it, billing's CheckoutUnavailable (an ApplicationError whose
    message is for the member) propagates after the payment was canceled, which released
    the seat (`registration_payment_failed`) and offered it to the waitlist.
    """
    from billing.services import checkout_start

    if registration.payment_status != PaymentStatus.PENDING:
        raise ApplicationError("This registration does not need a payment.")
    start = checkout_start(
        kind=PURCHASE_KIND,
        object_id=str(registration.pk),
        member=registration.user,
        amount=registration.amount,
        currency=registration.currency,
        description=f"Workshop: {registration.workshop.title}",
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"workshop_id": str(registration.workshop_id)},
    )
    return start.redirect_url


def _registration_for_payment(payment) -> WorkshopRegistration | None:
    registration = WorkshopRegistration.objects.filter(pk=payment.object_id).first()
    if registration is None:
        logger.warning("payment %s names unknown workshop registration %s", payment.pk, payment.object_id)
        return None
    workshop_lock(registration.workshop_id)
    return WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)


def registration_payment_succeeded(*, payment) -> None:
    """Billing's on_paid: confirm the seat. Idempotent.

    A payment that arrives after the seat was released is re-seated when a seat is
    free; otherwise the registration stays cancelled and paid, and the orphan check
    "paid but cancelled" lists it for a refund.
    """
    registration = _registration_for_payment(payment)
    if registration is None or registration.payment_status == PaymentStatus.PAID:
        return
    registration.payment = payment
    registration.payment_status = PaymentStatus.PAID
    fields = ["payment", "payment_status", "updated_at"]
    if registration.status == RegistrationStatus.CANCELLED:
        workshop = registration.workshop
        clash = WorkshopRegistration.objects.filter(
            registration_active_q(member=registration.user), workshop=workshop
        ).exists()
        if not clash and workshop.is_bookable and workshop_seats_held(workshop=workshop) < workshop.capacity:
            registration.status, registration.cancelled_at = RegistrationStatus.REGISTERED, None
            fields += ["status", "cancelled_at"]
        else:
            logger.warning("payment %s arrived for released registration %s", payment.pk, registration.pk)
    registration.save(update_fields=fields)
    if registration.status == RegistrationStatus.REGISTERED:
        registration_notice_queue(kind="registered", registration_id=registration.pk)


def registration_payment_failed(*, payment) -> None:
    """Billing's on_failed: release a seat still waiting for this payment. Idempotent."""
    registration = _registration_for_payment(payment)
    if registration is None or registration.payment_status != PaymentStatus.PENDING:
        return
    registration_cancel_locked(registration=registration, payment_status=PaymentStatus.FAILED)
    waitlist_seats_offer(workshop=registration.workshop)


def registration_payment_refunded(*, payment, refund_amount: Decimal, fully_refunded: bool) -> None:
    """Billing's on_refunded: a full refund cancels the seat and frees it. Idempotent."""
    if not fully_refunded:
        return
    registration = _registration_for_payment(payment)
    if registration is None or registration.payment_status == PaymentStatus.REFUNDED:
        return
    if registration.status == RegistrationStatus.CANCELLED:
        registration.payment_status = PaymentStatus.REFUNDED
        registration.save(update_fields=["payment_status", "updated_at"])
        return
    registration_cancel_locked(registration=registration, payment_status=PaymentStatus.REFUNDED)
    waitlist_seats_offer(workshop=registration.workshop)
