"""Refunds: members' requests, staff decisions, and refunds Stripe reports."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bloom.exceptions import ApplicationError

from .. import notices, selectors, stripe_client
from ..models import (
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundSource,
    RefundStatus,
    StripeCheck,
    StripeCheckOperation,
    from_cents,
    to_cents,
)
from ..registry import purchase_kind_get
from ..stripe_client import StripeCallError
from . import stripe_check_runs
from .base import PaymentOutcomeUnknown
from .payments import _lock, payment_mark_succeeded
from .stripe_checks import _UNKNOWN_MESSAGES, _check_open, _checks_settle

logger = logging.getLogger(__name__)


def refund_request_create(*, member, payment: PaymentIntent, amount: Decimal, reason: str) -> RefundRequest:
    """A member asks for (part of) a paid payment back; staff are emailed.

    Refuses unpaid payments, amounts above what is left to refund (counting other open
    requests) and empty reasons. Locks the payment so two requests cannot overlap.
    """
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if not reason.strip():
        raise ApplicationError("Please tell us why you are asking for a refund.")
    with transaction.atomic():
        locked = _lock(payment)
        if locked.user_id != member.pk:
            raise ApplicationError("That payment is not on your account.")
        if not locked.is_paid or locked.amount <= 0:
            raise ApplicationError("Only a completed payment can be refunded.")
        pending = sum(
            (r.amount_approved or r.amount_requested)
            for r in locked.refund_requests.filter(
                status__in=[RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.PROCESSING]
            )
        )
        available = locked.amount - locked.amount_refunded - pending
        if amount <= 0 or amount > available:
            raise ApplicationError(f"You can ask for at most {max(available, Decimal('0'))} {locked.currency.upper()}.")
        refund = RefundRequest.objects.create(
            payment=locked,
            user=member,
            amount_requested=amount,
            currency=locked.currency,
            reason=reason.strip(),
        )
        notices.refund_requested(refund=refund)
        return refund


def refund_approve(*, refund: RefundRequest, staff, amount: Decimal | None = None, note: str = "") -> RefundRequest:
    """Staff approve a request (in full or for a smaller amount) and Bloom refunds it through Stripe.

    The request is marked approved (member notified) and committed before Stripe is
    called, with an idempotency key from the request id and amount, so a retried approval
    never refunds twice. The refund webhook marks it refunded and tells the kind's
    on_refunded. When Stripe gives no clear answer the request stays approved, a StripeCheck
    is opened (the same refund is sent again with the same key until Stripe or its webhook
    settles it) and PaymentOutcomeUnknown says so to staff; approving again meanwhile
    re-sends that same refund (another amount is refused).
    """
    with transaction.atomic():
        locked = RefundRequest.objects.select_for_update().select_related("payment", "user").get(pk=refund.pk)
        check = StripeCheck.objects.filter(refund=locked, settled_at__isnull=True).first()
        if check is None:
            locked, key = _refund_approve_locked(locked, staff=staff, amount=amount, note=note)
    if check is not None:
        if amount is not None and to_cents(Decimal(amount)) != check.params.get("amount_cents"):
            raise ApplicationError(
                f"A refund of {locked.amount_approved} {locked.currency.upper()} is still being confirmed with "
                "Stripe; it is retried automatically and its amount cannot change until it is settled."
            )
        if stripe_check_runs.stripe_check_run(check_id=check.pk, force=True) == "unknown":
            check.refresh_from_db()
            raise PaymentOutcomeUnknown(_UNKNOWN_MESSAGES[StripeCheckOperation.REFUND], check=check)
        locked.refresh_from_db()
        return locked
    cents = to_cents(locked.amount_approved)
    params = {
        "payment_intent_id": locked.payment.stripe_payment_intent_id,
        "amount_cents": cents,
        "metadata": {"bloom_refund_request_id": str(locked.pk), "bloom_payment_id": str(locked.payment_id)},
    }
    try:
        result = stripe_client.refund_create(idempotency_key=key, **params)
    except StripeCallError as exc:
        check = _check_open(
            payment=locked.payment,
            refund=locked,
            operation=StripeCheckOperation.REFUND,
            key=key,
            params=params,
            error=exc,
        )
        raise PaymentOutcomeUnknown(_UNKNOWN_MESSAGES[StripeCheckOperation.REFUND], check=check) from exc
    _refund_answered(refund=locked, result=result)
    locked.refresh_from_db()
    return locked


def _refund_approve_locked(
    locked: RefundRequest, *, staff, amount: Decimal | None, note: str
) -> tuple[RefundRequest, str]:
    """Mark a request approved (caller holds its lock); returns it and the idempotency key to refund with.

    A request Stripe reported failed gets a key of its own, since the first key would only
    replay the failed refund.
    """
    if locked.status not in (RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.FAILED):
        raise ApplicationError(f"This refund is already {locked.get_status_display().lower()}.")
    amount = Decimal(amount if amount is not None else locked.amount_requested).quantize(Decimal("0.01"))
    if amount <= 0 or amount > locked.payment.refundable_amount:
        raise ApplicationError(f"The refund must be more than zero and at most {locked.payment.refundable_amount}.")
    if not locked.payment.stripe_payment_intent_id:
        raise ApplicationError("This payment never went through Stripe, so there is nothing to refund there.")
    key = f"bloom-refund-{locked.pk}-{to_cents(amount)}"
    if locked.status == RefundStatus.FAILED and locked.stripe_refund_id:
        key = f"{key}-after-{locked.stripe_refund_id}"
    first_decision = locked.decided_at is None
    locked.status = RefundStatus.APPROVED
    locked.amount_approved = amount
    locked.decided_by = staff
    locked.decided_at = locked.decided_at or timezone.now()
    locked.decision_note = note or locked.decision_note
    locked.failure_message = ""
    locked.save()
    if first_decision:
        notices.refund_decided(refund=locked)
    return locked, key


def _refund_answered(*, refund: RefundRequest, result: dict) -> None:
    """Stripe accepted a refund Bloom asked for: record its id, then apply its state."""
    RefundRequest.objects.filter(pk=refund.pk, status=RefundStatus.APPROVED).update(
        status=RefundStatus.PROCESSING,
        stripe_refund_id=stripe_client.object_id(result.get("id")),
        updated_at=timezone.now(),
    )
    refund_sync(refund=result)


def refund_deny(*, refund: RefundRequest, staff, note: str) -> RefundRequest:
    """Staff decline a request; the member is told why (notice + email)."""
    with transaction.atomic():
        locked = RefundRequest.objects.select_for_update().select_related("user").get(pk=refund.pk)
        if locked.status != RefundStatus.REQUESTED:
            raise ApplicationError(f"This refund is already {locked.get_status_display().lower()}.")
        locked.status = RefundStatus.DENIED
        locked.decided_by = staff
        locked.decided_at = timezone.now()
        locked.decision_note = note
        locked.save()
        notices.refund_decided(refund=locked)
        return locked


def refund_sync(*, refund: dict) -> RefundRequest | None:
    """Apply a Stripe Refund object (from a webhook or an API answer) to Bloom's rows.

    Finds the request by Stripe refund id or its metadata; a refund made in the Stripe
    dashboard gets a request row of source "stripe". A succeeded refund marks the request
    refunded (member and staff notified once) and raises the payment's refunded total
    (`payment_refund_apply`). States only move forward: a refunded request never goes back.
    Any state settles the request's open check with Stripe (the refund exists).
    """
    payment = selectors.payment_find_for_stripe_object(refund)
    if payment is None:
        return None
    status = refund.get("status")
    amount = from_cents(refund.get("amount"))
    request_id = (refund.get("metadata") or {}).get("bloom_refund_request_id")
    with transaction.atomic():
        requests = RefundRequest.objects.select_for_update().select_related("user")
        request = requests.filter(stripe_refund_id=refund["id"]).first()
        if request is None and request_id:
            request = requests.filter(pk=request_id, payment=payment).first()
        if request is None:
            request = requests.filter(
                payment=payment, source=RefundSource.STRIPE, stripe_refund_id__isnull=True, amount_refunded=amount
            ).first()
        if request is None:
            if status not in ("succeeded", "pending", "requires_action"):
                return None
            request = RefundRequest.objects.create(
                payment=payment,
                user_id=payment.user_id,
                amount_requested=amount,
                amount_approved=amount,
                currency=payment.currency,
                reason=refund.get("reason") or "Refunded in Stripe",
                status=RefundStatus.PROCESSING,
                source=RefundSource.STRIPE,
                stripe_refund_id=refund["id"],
                decided_at=timezone.now(),
            )
        if request.stripe_refund_id is None:
            request.stripe_refund_id = refund["id"]
            request.save(update_fields=["stripe_refund_id", "updated_at"])
        _checks_settle(
            payment=payment,
            operations=(StripeCheckOperation.REFUND,),
            outcome=f"Stripe reported the refund {status}",
            refund=request,
        )
        if request.status == RefundStatus.REFUNDED:
            pass
        elif status == "succeeded":
            request.status = RefundStatus.REFUNDED
            request.amount_refunded = amount
            request.refunded_at = timezone.now()
            request.failure_message = ""
            request.save()
            notices.refund_completed(refund=request)
        elif status in ("failed", "canceled"):
            request.status = RefundStatus.FAILED
            request.failure_message = refund.get("failure_reason") or f"Stripe reported the refund {status}."
            request.save()
        elif request.status in (RefundStatus.REQUESTED, RefundStatus.APPROVED):
            request.status = RefundStatus.PROCESSING
            request.save(update_fields=["status", "updated_at"])
        succeeded_total = sum(
            r.amount_refunded for r in RefundRequest.objects.filter(payment=payment, status=RefundStatus.REFUNDED)
        )
        payment_refund_apply(payment=payment, total_refunded=succeeded_total)
        return request


def refund_charge_total_apply(*, payment: PaymentIntent, total_refunded: Decimal) -> Decimal:
    """Apply a charge's cumulative refunded total (charge.refunded), refunds in the payload already synced.

    What the total adds beyond the refunds Bloom has seen succeed is first matched to
    Bloom's own refunds awaiting Stripe's confirmation (oldest first; including approved
    ones whose answer from Stripe never came, an open check), and whatever is left
    is recorded as a refund made in the Stripe dashboard (source "stripe"), so every refund
    has a row. Member and staff are told once per refund. Returns the payment's increase.
    """
    with transaction.atomic():
        _lock(payment)
        requests = RefundRequest.objects.select_for_update().select_related("user", "payment").filter(payment=payment)
        known = sum((r.amount_refunded for r in requests.filter(status=RefundStatus.REFUNDED)), Decimal("0"))
        remainder = total_refunded - known
        checking = StripeCheck.objects.filter(refund=OuterRef("pk"), settled_at__isnull=True)
        awaiting = requests.filter(
            Q(status=RefundStatus.PROCESSING, stripe_refund_id__isnull=False)
            | Q(Exists(checking), status=RefundStatus.APPROVED)
        ).order_by("created_at")
        for pending in awaiting:
            amount = pending.amount_approved or pending.amount_requested
            if amount > remainder:
                break
            _checks_settle(
                payment=payment,
                operations=(StripeCheckOperation.REFUND,),
                outcome="Stripe reported the charge refunded",
                refund=pending,
            )
            pending.status = RefundStatus.REFUNDED
            pending.amount_refunded = amount
            pending.refunded_at = timezone.now()
            pending.save()
            notices.refund_completed(refund=pending)
            remainder -= amount
        if remainder > 0:
            dashboard_refund = RefundRequest.objects.create(
                payment=payment,
                user_id=payment.user_id,
                amount_requested=remainder,
                amount_approved=remainder,
                amount_refunded=remainder,
                currency=payment.currency,
                reason="Refunded in Stripe",
                status=RefundStatus.REFUNDED,
                source=RefundSource.STRIPE,
                decided_at=timezone.now(),
                refunded_at=timezone.now(),
            )
            notices.refund_completed(refund=dashboard_refund)
        return payment_refund_apply(payment=payment, total_refunded=total_refunded)


def payment_refund_apply(*, payment: PaymentIntent, total_refunded: Decimal) -> Decimal:
    """Raise a payment's refunded total to `total_refunded` (Stripe's cumulative figure).

    Totals only grow, so repeated or reordered refund events apply once: the kind's
    on_refunded is called with the increase only (`fully_refunded` when nothing is left).
    A refund seen before the payment itself was marked paid marks it paid first (Stripe
    only refunds paid charges). Returns the increase.
    """
    with transaction.atomic():
        locked = _lock(payment)
        total = min(total_refunded, locked.amount)
        if total <= locked.amount_refunded:
            return Decimal("0")
        if not locked.is_paid:
            locked = payment_mark_succeeded(payment=locked)
        increase = total - locked.amount_refunded
        locked.amount_refunded = total
        fully = total >= locked.amount
        locked.status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
        locked.refunded_at = timezone.now()
        locked.save(update_fields=["amount_refunded", "status", "refunded_at", "updated_at"])
        handler = purchase_kind_get(locked.kind)
        if handler is not None and handler.on_refunded is not None:
            handler.on_refunded(payment=locked, refund_amount=increase, fully_refunded=fully)
        return increase
