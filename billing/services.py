"""Writes of the payment service: checkouts, authorisations, captures, refunds, saved cards.

Every state change of a payment goes through this module and takes the payment's row lock,
so a webhook, a retry and a staff action racing on the same payment apply in turn.
Purchase-kind handlers (billing/registry.py) run inside that lock and transaction.
Calls to Stripe go through billing/stripe_client.py and are made outside row locks where
possible (a slow Stripe must not hold a payment row).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url

from . import notices, selectors, stripe_client
from .models import (
    PAID_STATUSES,
    BillingCustomer,
    CaptureMethod,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundSource,
    RefundStatus,
    UserPaymentMethod,
    from_cents,
    to_cents,
)
from .registry import purchase_kind_get

logger = logging.getLogger(__name__)

# Authorisations on cards expire after about 7 days; Bloom authorises at most 6 days ahead.
AUTHORIZE_WINDOW = timedelta(days=6)

# Order of the not-yet-paid statuses, used only to break ties between changes Stripe
# stamped with the same second.
_RANK = {
    PaymentStatus.REQUIRES_PAYMENT: 0,
    PaymentStatus.PROCESSING: 1,
    PaymentStatus.REQUIRES_CAPTURE: 2,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CANCELED: 4,
}


@dataclass(frozen=True)
class CheckoutStart:
    redirect_url: str
    payment: PaymentIntent


def _metadata(payment: PaymentIntent) -> dict[str, str]:
    return {
        **{str(k): str(v) for k, v in (payment.metadata or {}).items() if not str(k).startswith("bloom_")},
        "bloom_payment_id": str(payment.pk),
        "bloom_kind": payment.kind,
        "bloom_object_id": payment.object_id,
    }


def _lock(payment: PaymentIntent) -> PaymentIntent:
    return PaymentIntent.objects.select_for_update().select_related("user").get(pk=payment.pk)


def _require_kind(kind: str) -> None:
    if purchase_kind_get(kind) is None:
        raise ApplicationError(f"Payments of kind {kind!r} are not accepted (no handler registered).")


# --- Checkout ---------------------------------------------------------------------------


def checkout_start(
    *,
    kind: str,
    object_id: str,
    member,
    amount: Decimal,
    currency: str = "usd",
    description: str,
    success_url: str,
    cancel_url: str,
    discount_amount: Decimal = Decimal("0"),
    metadata: dict | None = None,
) -> CheckoutStart:
    """Start paying for one thing: a payment row plus a Stripe Checkout Session.

    The member is sent to `redirect_url` (Stripe's page). Fulfilment happens only when the
    webhook reports the payment (`payment_mark_succeeded`), never from the return page,
    which is Bloom's "payment processing" page and links on to `success_url` once paid.
    An amount of zero (a 100% discount) is marked paid at once in this transaction,
    calls the kind's on_paid, makes no Stripe call and redirects straight to `success_url`.
    The Checkout Session is created with an idempotency key from the payment id.
    """
    _require_kind(kind)
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount < 0 or discount_amount < 0:
        raise ApplicationError("An amount cannot be negative.")
    with transaction.atomic():
        payment = PaymentIntent.objects.create(
            user=member,
            kind=kind,
            object_id=str(object_id),
            description=description,
            amount=amount,
            discount_amount=discount_amount,
            currency=currency.lower(),
            metadata={**(metadata or {}), "success_url": success_url, "cancel_url": cancel_url},
        )
        if amount == 0:
            payment = payment_mark_succeeded(payment=payment)
            return CheckoutStart(redirect_url=success_url, payment=payment)
    return_url = absolute_url(reverse("billing:checkout_return", args=[payment.pk]))
    customer = BillingCustomer.objects.filter(user=member).first()
    session = stripe_client.checkout_session_create(
        idempotency_key=f"bloom-checkout-{payment.pk}",
        amount_cents=to_cents(amount),
        currency=payment.currency,
        description=description,
        success_url=f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=cancel_url,
        metadata=_metadata(payment),
        customer_email=member.email,
        customer_id=customer.stripe_customer_id if customer else None,
    )
    PaymentIntent.objects.filter(pk=payment.pk).update(
        stripe_checkout_session_id=session["id"],
        stripe_payment_intent_id=session.get("payment_intent") or None,
        checkout_url=session.get("url") or "",
    )
    payment.refresh_from_db()
    return CheckoutStart(redirect_url=payment.checkout_url, payment=payment)


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
    captured less than was authorised.
    """
    with transaction.atomic():
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
    canceled. Moving to failed or canceled calls the kind's on_failed. Returns whether it moved.
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
        notices.payment_needs_action(payment=locked)
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


# --- Saved cards and authorise-then-capture -------------------------------------------------


def customer_ensure(*, member) -> BillingCustomer:
    """The member's Stripe Customer, created once (idempotency key from the member id)."""
    customer = BillingCustomer.objects.filter(user=member).first()
    if customer is not None:
        return customer
    created = stripe_client.customer_create(
        idempotency_key=f"bloom-customer-{member.pk}",
        email=member.email,
        name=member.get_full_name(),
        metadata={"bloom_user_id": str(member.pk)},
    )
    customer, _ = BillingCustomer.objects.get_or_create(user=member, defaults={"stripe_customer_id": created["id"]})
    return customer


def card_setup_start(*, member) -> dict:
    """A SetupIntent for Stripe Elements to save a card; returns its id and client secret."""
    customer = customer_ensure(member=member)
    setup = stripe_client.setup_intent_create(
        idempotency_key=f"bloom-setup-{member.pk}-{uuid.uuid4().hex}",
        customer_id=customer.stripe_customer_id,
        metadata={"bloom_user_id": str(member.pk)},
    )
    return {"id": setup["id"], "client_secret": setup.get("client_secret", "")}


def card_save(
    *,
    member,
    stripe_payment_method_id: str,
    brand: str = "",
    last4: str = "",
    exp_month: int | None = None,
    exp_year: int | None = None,
) -> UserPaymentMethod | None:
    """Record a card saved on the member's customer (idempotent; fills details when known).

    A card detached before is never brought back (returns None). The member's first card
    becomes the default.
    """
    with transaction.atomic():
        method, created = UserPaymentMethod.objects.select_for_update().get_or_create(
            stripe_payment_method_id=stripe_payment_method_id,
            defaults={"user": member, "brand": brand, "last4": last4, "exp_month": exp_month, "exp_year": exp_year},
        )
        if method.detached_at is not None or method.user_id != member.pk:
            return None
        if not created and last4 and not method.last4:
            method.brand, method.last4, method.exp_month, method.exp_year = brand, last4, exp_month, exp_year
            method.save(update_fields=["brand", "last4", "exp_month", "exp_year", "updated_at"])
        if not UserPaymentMethod.active.filter(user=member, is_default=True).exists():
            UserPaymentMethod.objects.filter(pk=method.pk).update(is_default=True)
            method.is_default = True
        return method


def card_detached(*, stripe_payment_method_id: str, member=None) -> bool:
    """Mark a card removed (from Stripe's side or ours); the newest other card becomes default.

    A detachment heard before the attachment (events out of order) leaves a removed row
    for `member`, so the late attachment cannot bring the card back.
    """
    with transaction.atomic():
        method = (
            UserPaymentMethod.objects.select_for_update()
            .filter(stripe_payment_method_id=stripe_payment_method_id)
            .first()
        )
        if method is None:
            if member is not None:
                UserPaymentMethod.objects.get_or_create(
                    stripe_payment_method_id=stripe_payment_method_id,
                    defaults={"user": member, "detached_at": timezone.now()},
                )
            return False
        if method.detached_at is not None:
            return False
        was_default = method.is_default
        method.detached_at = timezone.now()
        method.is_default = False
        method.save(update_fields=["detached_at", "is_default", "updated_at"])
        if was_default:
            successor = UserPaymentMethod.active.filter(user_id=method.user_id).order_by("-created_at").first()
            if successor is not None:
                UserPaymentMethod.objects.filter(pk=successor.pk).update(is_default=True)
        return True


def card_remove(*, member, payment_method_id) -> None:
    """Remove one of the member's cards: detach it at Stripe, then mark it removed here."""
    method = UserPaymentMethod.active.filter(user=member, pk=payment_method_id).first()
    if method is None:
        raise ApplicationError("That card is not on your account.")
    stripe_client.payment_method_detach(payment_method_id=method.stripe_payment_method_id)
    card_detached(stripe_payment_method_id=method.stripe_payment_method_id)


def card_make_default(*, member, payment_method_id) -> UserPaymentMethod:
    """Make one of the member's cards the one used for authorisations and fees."""
    with transaction.atomic():
        method = UserPaymentMethod.active.select_for_update().filter(user=member, pk=payment_method_id).first()
        if method is None:
            raise ApplicationError("That card is not on your account.")
        UserPaymentMethod.objects.filter(user=member, is_default=True).exclude(pk=method.pk).update(is_default=False)
        UserPaymentMethod.objects.filter(pk=method.pk).update(is_default=True)
        method.is_default = True
        return method


def _default_card(member) -> tuple[BillingCustomer, UserPaymentMethod]:
    customer = BillingCustomer.objects.filter(user=member).first()
    card = UserPaymentMethod.active.filter(user=member, is_default=True).first()
    if customer is None or card is None:
        raise ApplicationError("There is no saved card on this account. Please add a card on the billing page.")
    return customer, card


def _off_session_payment(
    *,
    member,
    kind: str,
    object_id: str,
    amount: Decimal,
    description: str,
    capture_method: str,
    charge_date: datetime | None = None,
) -> PaymentIntent:
    _require_kind(kind)
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise ApplicationError("The amount must be more than zero.")
    customer, card = _default_card(member)
    payment = PaymentIntent.objects.create(
        user=member,
        kind=kind,
        object_id=str(object_id),
        description=description,
        amount=amount,
        capture_method=capture_method,
        charge_date=charge_date,
    )
    try:
        result = stripe_client.payment_intent_create(
            idempotency_key=f"bloom-pi-{payment.pk}",
            amount_cents=to_cents(amount),
            currency=payment.currency,
            customer_id=customer.stripe_customer_id,
            payment_method_id=card.stripe_payment_method_id,
            capture_method=capture_method,
            description=description,
            metadata=_metadata(payment),
        )
    except stripe_client.StripeCallError as exc:
        intent = exc.payment_intent
        if intent.get("id"):
            PaymentIntent.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=intent["id"])
        if exc.code == "authentication_required" or intent.get("status") == "requires_action":
            payment_needs_action_flag(payment=payment, message=exc.message)
        else:
            payment_status_apply(
                payment=payment, status=PaymentStatus.FAILED, at=timezone.now(), failure_message=exc.message
            )
        payment.refresh_from_db()
        return payment
    return _apply_intent_result(payment=payment, intent=result)


def _apply_intent_result(*, payment: PaymentIntent, intent: dict) -> PaymentIntent:
    PaymentIntent.objects.filter(pk=payment.pk).update(
        stripe_payment_intent_id=intent["id"], stripe_charge_id=intent.get("latest_charge") or None
    )
    status = intent.get("status")
    if status == "succeeded":
        payment_mark_succeeded(
            payment=payment,
            stripe_charge_id=intent.get("latest_charge") or None,
            amount=from_cents(intent["amount_received"]) if intent.get("amount_received") else None,
        )
    elif status == "requires_capture":
        payment_status_apply(payment=payment, status=PaymentStatus.REQUIRES_CAPTURE, at=timezone.now())
    elif status == "requires_action":
        payment_needs_action_flag(payment=payment, message="Your bank asked you to confirm this payment.")
    elif status == "processing":
        payment_status_apply(payment=payment, status=PaymentStatus.PROCESSING, at=timezone.now())
    elif status == "canceled":
        payment_status_apply(payment=payment, status=PaymentStatus.CANCELED, at=timezone.now())
    payment.refresh_from_db()
    return payment


def payment_authorize(
    *, member, kind: str, object_id: str, amount: Decimal, charge_date: datetime, description: str
) -> PaymentIntent:
    """Hold `amount` on the member's default card (manual capture, off-session).

    Card authorisations lapse after about 7 days, so this refuses (ApplicationError) to
    authorise more than 6 days before `charge_date`. A card that needs the member to
    authenticate leaves the payment awaiting payment with `needs_action` and sends a notice
    and email with a link to complete it; a declined card leaves it `failed` with the
    bank's message. Returns the payment (`requires_capture` when the hold succeeded).
    """
    if charge_date - timezone.now() > AUTHORIZE_WINDOW:
        earliest = timezone.localtime(charge_date - AUTHORIZE_WINDOW)
        raise ApplicationError(
            "A card can be authorised at most 6 days before the charge date "
            f"(authorisations expire after about 7 days); try again on or after {earliest:%Y-%m-%d %H:%M}."
        )
    return _off_session_payment(
        member=member,
        kind=kind,
        object_id=object_id,
        amount=amount,
        description=description,
        capture_method=CaptureMethod.MANUAL,
        charge_date=charge_date,
    )


def payment_charge_off_session(
    *, member, kind: str, object_id: str, amount: Decimal, description: str
) -> PaymentIntent:
    """Charge a fee (e.g. a no-show fee) on the member's default card now, off-session.

    Succeeds through `payment_mark_succeeded` (on_paid once); authentication or a decline
    are handled as in `payment_authorize`.
    """
    return _off_session_payment(
        member=member,
        kind=kind,
        object_id=object_id,
        amount=amount,
        description=description,
        capture_method=CaptureMethod.AUTOMATIC,
    )


def payment_capture(*, payment: PaymentIntent, amount: Decimal | None = None) -> PaymentIntent:
    """Capture an authorised payment in full or in part (the rest of the hold is released).

    Idempotent per payment and amount (Stripe idempotency key); on success the payment
    becomes paid through `payment_mark_succeeded` with the captured amount.
    """
    payment.refresh_from_db()
    if payment.is_paid:
        return payment
    if payment.status != PaymentStatus.REQUIRES_CAPTURE or not payment.stripe_payment_intent_id:
        raise ApplicationError("Only an authorised payment can be captured.")
    if amount is not None:
        amount = Decimal(amount).quantize(Decimal("0.01"))
        if not 0 < amount <= payment.amount:
            raise ApplicationError("The captured amount must be more than zero and at most the authorised amount.")
    cents = to_cents(amount) if amount is not None else None
    try:
        result = stripe_client.payment_intent_capture(
            idempotency_key=f"bloom-capture-{payment.pk}-{cents or 'full'}",
            payment_intent_id=payment.stripe_payment_intent_id,
            amount_cents=cents,
        )
    except stripe_client.StripeCallError as exc:
        raise ApplicationError(f"Stripe could not capture the payment: {exc.message}") from exc
    return _apply_intent_result(payment=payment, intent=result)


def payment_release(*, payment: PaymentIntent) -> PaymentIntent:
    """Release an authorisation (cancel the PaymentIntent). The kind's on_failed is not called:
    the caller asked for it. Releasing an already released payment does nothing."""
    payment.refresh_from_db()
    if payment.status == PaymentStatus.CANCELED:
        return payment
    if payment.status not in (PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.REQUIRES_PAYMENT):
        raise ApplicationError("Only an authorisation that was not captured can be released.")
    if payment.stripe_payment_intent_id:
        try:
            stripe_client.payment_intent_cancel(
                idempotency_key=f"bloom-release-{payment.pk}", payment_intent_id=payment.stripe_payment_intent_id
            )
        except stripe_client.StripeCallError as exc:
            raise ApplicationError(f"Stripe could not release the payment: {exc.message}") from exc
    with transaction.atomic():
        locked = _lock(payment)
        if locked.status in (PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.REQUIRES_PAYMENT):
            locked.status = PaymentStatus.CANCELED
            locked.status_changed_at = timezone.now()
            locked.save(update_fields=["status", "status_changed_at", "updated_at"])
        return locked


# --- Refunds --------------------------------------------------------------------------------


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
    called, with an idempotency key from the request id, so a retried approval never
    refunds twice. The refund webhook marks it refunded and tells the kind's on_refunded.
    A Stripe error marks the request failed with the message.
    """
    with transaction.atomic():
        locked = RefundRequest.objects.select_for_update().select_related("payment", "user").get(pk=refund.pk)
        if locked.status not in (RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.FAILED):
            raise ApplicationError(f"This refund is already {locked.get_status_display().lower()}.")
        amount = Decimal(amount if amount is not None else locked.amount_requested).quantize(Decimal("0.01"))
        if amount <= 0 or amount > locked.payment.refundable_amount:
            raise ApplicationError(f"The refund must be more than zero and at most {locked.payment.refundable_amount}.")
        if not locked.payment.stripe_payment_intent_id:
            raise ApplicationError("This payment never went through Stripe, so there is nothing to refund there.")
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
    try:
        result = stripe_client.refund_create(
            idempotency_key=f"bloom-refund-{locked.pk}-{to_cents(amount)}",
            payment_intent_id=locked.payment.stripe_payment_intent_id,
            amount_cents=to_cents(amount),
            metadata={"bloom_refund_request_id": str(locked.pk), "bloom_payment_id": str(locked.payment_id)},
        )
    except stripe_client.StripeCallError as exc:
        RefundRequest.objects.filter(pk=locked.pk, status=RefundStatus.APPROVED).update(
            status=RefundStatus.FAILED, failure_message=exc.message[:2000], updated_at=timezone.now()
        )
        raise ApplicationError(f"Stripe refused the refund: {exc.message}") from exc
    RefundRequest.objects.filter(pk=locked.pk, status=RefundStatus.APPROVED).update(
        status=RefundStatus.PROCESSING, stripe_refund_id=result["id"], updated_at=timezone.now()
    )
    refund_sync(refund=result)
    locked.refresh_from_db()
    return locked


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
    Bloom's own refunds awaiting Stripe's confirmation (oldest first), and whatever is left
    is recorded as a refund made in the Stripe dashboard (source "stripe"), so every refund
    has a row. Member and staff are told once per refund. Returns the payment's increase.
    """
    with transaction.atomic():
        _lock(payment)
        requests = RefundRequest.objects.select_for_update().select_related("user", "payment").filter(payment=payment)
        known = sum((r.amount_refunded for r in requests.filter(status=RefundStatus.REFUNDED)), Decimal("0"))
        remainder = total_refunded - known
        awaiting = requests.filter(status=RefundStatus.PROCESSING, stripe_refund_id__isnull=False).order_by(
            "created_at"
        )
        for pending in awaiting:
            amount = pending.amount_approved or pending.amount_requested
            if amount > remainder:
                break
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
