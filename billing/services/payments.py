"""A payment's state: every change takes the payment's row lock here (`_lock`), in one place.

Paid, failed, canceled, needs-action, disputes, and Stripe's ids on the row: webhooks, retries
and staff actions racing on one payment apply in turn, and states only move forward."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .. import notices
from ..models import (
    PAID_STATUSES,
    PaymentIntent,
    PaymentStatus,
    StripeCheckOperation,
)
from ..registry import purchase_kind_get
from .stripe_checks import _SETTLED_BY_STATUS, _checks_settle

logger = logging.getLogger(__name__)
# Order of the not-yet-paid statuses, used only to break ties between changes Stripe
# stamped with the same second.
_RANK = {
    PaymentStatus.REQUIRES_PAYMENT: 0,
    PaymentStatus.PROCESSING: 1,
    PaymentStatus.REQUIRES_CAPTURE: 2,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CANCELED: 4,
}


def _lock(payment: PaymentIntent) -> PaymentIntent:
    return PaymentIntent.objects.select_for_update().select_related("user").get(pk=payment.pk)


def payment_mark_succeeded(
    *,
    payment: PaymentIntent,
    stripe_payment_intent_id: str | None = None,
    stripe_charge_id: str | None = None,
    amount: Decimal | None = None,
) -> PaymentIntent:
    """Mark a payment paid and call its kind's on_paid exactly once.

    The single code path for "money arrived" (webhooks, captures, zero amounts, other apps'
    tests). Locks the payment row; a payment already paid (or refunded since) is returned
    unchanged and on_paid is not called again. `amount` replaces the amount when Stripe
    captured less than was authorised. Settles the payment's open checks with Stripe.
    Inside a caller's transaction (a webhook event's) it adds no savepoint: a failure here
    fails the caller's transaction, as every caller lets it.
    """
    with transaction.atomic(savepoint=False):
        locked = _lock(payment)
        if locked.status in PAID_STATUSES:
            return locked
        now = timezone.now()
        locked.status = PaymentStatus.SUCCEEDED
        locked.paid_at = now
        locked.status_changed_at = now
        locked.needs_action = False
        locked.failure_message = ""
        if stripe_payment_intent_id:
            locked.stripe_payment_intent_id = stripe_payment_intent_id
        if stripe_charge_id:
            locked.stripe_charge_id = stripe_charge_id
        if amount is not None and amount < locked.amount:
            locked.metadata = {**locked.metadata, "authorized_amount": str(locked.amount)}
            locked.amount = amount
        locked.save()
        _checks_settle(payment=locked, operations=_SETTLED_BY_STATUS[PaymentStatus.SUCCEEDED], outcome="paid")
        handler = purchase_kind_get(locked.kind)
        if handler is None:
            logger.warning("payment %s of unregistered kind %r was paid", locked.pk, locked.kind)
        else:
            handler.on_paid(payment=locked)
        return locked


def payment_status_apply(
    *,
    payment: PaymentIntent,
    status: str,
    at: datetime,
    failure_message: str | None = None,
    needs_action: bool | None = None,
) -> bool:
    """Move a not-yet-paid payment to `status` if this change is newer than the last one applied.

    `at` is Stripe's time of the change (the event's `created`). Paid, refunded and canceled
    payments never move back; an older change is ignored; changes in the same second are
    applied only in the order requires_payment < processing < requires_capture < failed <
    canceled. Moving to failed or canceled calls the kind's on_failed. A move settles the open
    checks with Stripe that the new state answers (see `_SETTLED_BY_STATUS`). Returns whether it moved.
    """
    with transaction.atomic():
        locked = _lock(payment)
        if locked.status in PAID_STATUSES or locked.status == PaymentStatus.CANCELED:
            return False
        last = locked.status_changed_at
        if last is not None and (at < last or (at == last and _RANK[status] <= _RANK[locked.status])):
            return False
        previous = locked.status
        locked.status = status
        locked.status_changed_at = at
        if failure_message is not None:
            locked.failure_message = failure_message[:2000]
        if needs_action is not None:
            locked.needs_action = needs_action
        locked.save()
        _checks_settle(payment=locked, operations=_SETTLED_BY_STATUS.get(status, ()), outcome=status)
        if status in (PaymentStatus.FAILED, PaymentStatus.CANCELED) and previous not in (
            PaymentStatus.FAILED,
            PaymentStatus.CANCELED,
        ):
            handler = purchase_kind_get(locked.kind)
            if handler is not None and handler.on_failed is not None:
                handler.on_failed(payment=locked)
            if status == PaymentStatus.FAILED:
                notices.payment_failed(payment=locked)
        if needs_action and status == PaymentStatus.REQUIRES_PAYMENT:
            notices.payment_needs_action(payment=locked)
        return True


def payment_needs_action_flag(*, payment: PaymentIntent, message: str) -> bool:
    """Record that the member must authenticate a payment and tell them once (notice + email)."""
    with transaction.atomic():
        locked = _lock(payment)
        if locked.is_paid or locked.needs_action or locked.status == PaymentStatus.CANCELED:
            return False
        locked.needs_action = True
        locked.failure_message = message[:2000]
        locked.save(update_fields=["needs_action", "failure_message", "updated_at"])
        _checks_settle(
            payment=locked, operations=(StripeCheckOperation.PAYMENT_CREATE,), outcome="needs authentication"
        )
        notices.payment_needs_action(payment=locked)
        return True


def payment_stripe_ids_link(
    *,
    payment: PaymentIntent,
    stripe_checkout_session_id: str | None = None,
    stripe_payment_intent_id: str | None = None,
    stripe_charge_id: str | None = None,
) -> list[str]:
    """Record Stripe's ids on a payment that has none yet (an id, once set, never changes).

    Locks the payment row; ids that are empty or already set are skipped. Returns the
    fields written.
    """
    given = {
        "stripe_checkout_session_id": stripe_checkout_session_id,
        "stripe_payment_intent_id": stripe_payment_intent_id,
        "stripe_charge_id": stripe_charge_id,
    }
    with transaction.atomic():
        locked = _lock(payment)
        updates = {name: value for name, value in given.items() if value and not getattr(locked, name)}
        if updates:
            PaymentIntent.objects.filter(pk=locked.pk).update(**updates)
    return list(updates)


def payment_attempt_failure_note(*, payment: PaymentIntent, message: str) -> bool:
    """Keep the message of a failed card attempt on a payment still open at Stripe's Checkout.

    The member may try another card, so the state does not move; only `failure_message`
    is written, and not once the payment is paid. Locks the row. Returns whether it wrote.
    """
    with transaction.atomic():
        locked = _lock(payment)
        if locked.paid_at is not None:
            return False
        PaymentIntent.objects.filter(pk=locked.pk).update(failure_message=message[:2000])
        return True


def payment_flag_disputed(*, payment: PaymentIntent, dispute: dict) -> bool:
    """Flag a payment as disputed and alert staff once (email to BLOOM_STAFF_ALERT_EMAIL)."""
    with transaction.atomic():
        locked = _lock(payment)
        if locked.disputed:
            return False
        locked.disputed = True
        locked.metadata = {
            **locked.metadata,
            "dispute_id": dispute.get("id", ""),
            "dispute_reason": dispute.get("reason", ""),
        }
        locked.save(update_fields=["disputed", "metadata", "updated_at"])
        notices.dispute_opened(payment=locked, dispute=dispute)
        return True


DISPUTE_OUTCOMES = {"won", "lost", "warning_closed", "prevented"}


def payment_dispute_closed(*, payment: PaymentIntent, dispute: dict) -> bool:
    """Record how a dispute ended (won, lost, ...) and tell staff once per outcome.

    A `closed` event that overtakes its `created` event still flags the payment, and the
    late `created` then changes nothing (`payment_flag_disputed` sees the flag). The payment
    stays flagged after a dispute is won, so the history shows it; the outcome is in
    `metadata["dispute_status"]`. Access is not changed here: a lost dispute is money
    returned by the bank, and whether the member keeps access is the care team's decision.
    """
    status = dispute.get("status", "")
    if status not in DISPUTE_OUTCOMES:
        return False
    with transaction.atomic():
        locked = _lock(payment)
        if locked.metadata.get("dispute_status") == status:
            return False
        locked.disputed = True
        locked.metadata = {
            **locked.metadata,
            "dispute_id": dispute.get("id", "") or locked.metadata.get("dispute_id", ""),
            "dispute_reason": dispute.get("reason", "") or locked.metadata.get("dispute_reason", ""),
            "dispute_status": status,
            "dispute_closed_at": timezone.now().isoformat(),
        }
        locked.save(update_fields=["disputed", "metadata", "updated_at"])
        notices.dispute_closed(payment=locked, dispute=dispute)
        return True
