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
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url

from . import notices, selectors, stripe_client
from .models import (
    PAID_STATUSES,
    STRIPE_CHECK_RETRY_DELAYS,
    BillingCustomer,
    CaptureMethod,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundSource,
    RefundStatus,
    StripeCheck,
    StripeCheckOperation,
    UserPaymentMethod,
    from_cents,
    to_cents,
)
from .registry import purchase_kind_get
from .stripe_client import StripeCallError, StripeCardError, StripeOutcomeUnknown

logger = logging.getLogger(__name__)

PROVIDER_UNREACHABLE = "We couldn't reach our payment provider. Nothing was charged — please try again."


class CheckoutUnavailable(ApplicationError):
    """A checkout or card setup could not start. Nothing was charged and nothing is held:
    the member can simply try again."""

    def __init__(self, message: str = PROVIDER_UNREACHABLE) -> None:
        super().__init__(message)


class PaymentOutcomeUnknown(ApplicationError):
    """Stripe did not say whether it acted. `check` is the open StripeCheck: the same request
    is sent again with the same idempotency key until Stripe (or its webhook) answers."""

    def __init__(self, message: str, *, check: StripeCheck) -> None:
        super().__init__(message, extra={"check_id": str(check.pk)})
        self.check = check


# What a member reads when their card is refused, in Bloom's words (never Stripe's text),
# keyed by Stripe's decline_code or error code.
_CARD_MESSAGES = {
    "authentication_required": "Your bank asked you to confirm this payment.",
    "insufficient_funds": (
        "Your bank declined the card for insufficient funds, so nothing was charged. "
        "Please add another card or contact your bank."
    ),
    "expired_card": "The card on file has expired, so nothing was charged. Please add a new card.",
    "incorrect_cvc": "The card's security code was not accepted, so nothing was charged. Please add the card again.",
    "incorrect_number": "The card number was not accepted, so nothing was charged. Please add the card again.",
    "processing_error": "Your bank could not process the card just now, so nothing was charged. Please try again.",
}
CARD_DECLINED_MESSAGE = (
    "Your bank declined the card, so nothing was charged. Please add another card or contact your bank."
)


def card_error_message(*, code: str = "", decline_code: str = "") -> str:
    """The member-facing message for a refused card."""
    return _CARD_MESSAGES.get(decline_code) or _CARD_MESSAGES.get(code) or CARD_DECLINED_MESSAGE


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

    When Stripe gives no usable answer (any error, or a session without an id or URL),
    raises CheckoutUnavailable (its message is for the member) after marking the payment
    canceled, which calls the kind's on_failed at once so any seat or hold is released.
    Nothing can have been charged: even if Stripe made a session, the member never got
    its address. The canceled row stays (it names what was tried, and a late
    `checkout.session.expired` still finds it) but is not listed to the member.
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
    try:
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
        url = session.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise StripeOutcomeUnknown("Stripe's Checkout Session has no https URL")
    except StripeCallError as exc:
        _checkout_abandon(payment=payment, error=exc)
        raise CheckoutUnavailable() from exc
    PaymentIntent.objects.filter(pk=payment.pk).update(
        stripe_checkout_session_id=stripe_client.object_id(session["id"], "cs"),
        stripe_payment_intent_id=stripe_client.object_id(session.get("payment_intent"), "pi"),
        checkout_url=url,
    )
    payment.refresh_from_db()
    return CheckoutStart(redirect_url=payment.checkout_url, payment=payment)


def _checkout_abandon(*, payment: PaymentIntent, error: StripeCallError) -> None:
    logger.warning("checkout for payment %s could not start: %s", payment.pk, error.summary)
    with transaction.atomic():
        PaymentIntent.objects.filter(pk=payment.pk).update(
            metadata={**payment.metadata, "checkout_error": error.summary}
        )
        payment_status_apply(
            payment=payment,
            status=PaymentStatus.CANCELED,
            at=timezone.now(),
            failure_message="We couldn't reach our payment provider, so this checkout did not start. "
            "Nothing was charged.",
        )


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
    """A SetupIntent for Stripe Elements to save a card; returns its id and client secret.

    When Stripe gives no usable answer, raises CheckoutUnavailable (for the member): no
    card was saved and nothing charged. The customer is created under a key from the member
    id, so a retry finds the customer an unanswered first try may have made.
    """
    try:
        customer = customer_ensure(member=member)
        setup = stripe_client.setup_intent_create(
            idempotency_key=f"bloom-setup-{member.pk}-{uuid.uuid4().hex}",
            customer_id=customer.stripe_customer_id,
            metadata={"bloom_user_id": str(member.pk)},
        )
        secret = setup.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise StripeOutcomeUnknown("Stripe's SetupIntent has no client secret")
    except StripeCallError as exc:
        logger.warning("card setup for member %s could not start: %s", member.pk, exc.summary)
        raise CheckoutUnavailable(
            "We couldn't reach our payment provider, so no card was added and nothing was charged. Please try again."
        ) from exc
    return {"id": setup["id"], "client_secret": secret}


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
    """Remove one of the member's cards: detach it at Stripe, then mark it removed here.

    When Stripe gives no clear answer the card stays listed (ApplicationError for the
    member); if Stripe did detach it, its payment_method.detached webhook removes it.
    """
    method = UserPaymentMethod.active.filter(user=member, pk=payment_method_id).first()
    if method is None:
        raise ApplicationError("That card is not on your account.")
    try:
        stripe_client.payment_method_detach(payment_method_id=method.stripe_payment_method_id)
    except StripeCallError as exc:
        logger.warning("could not detach card %s: %s", method.pk, exc.summary)
        raise ApplicationError(
            "We couldn't reach our payment provider, so the card is still saved. Please try again in a minute."
        ) from exc
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
    waiting = (
        StripeCheck.objects.select_related("payment")
        .filter(
            operation=StripeCheckOperation.PAYMENT_CREATE,
            settled_at__isnull=True,
            payment__user=member,
            payment__kind=kind,
            payment__object_id=str(object_id),
        )
        .first()
    )
    if waiting is not None:
        # Asked again while Stripe's answer to the first request is unknown (a staff retry):
        # the first request is sent again, never a second one.
        if waiting.payment.amount != amount or waiting.payment.capture_method != capture_method:
            raise ApplicationError(
                f"A charge of {waiting.payment.amount} {waiting.payment.currency.upper()} for this is still "
                "being confirmed with Stripe; it is retried automatically and cannot be changed until it is settled."
            )
        stripe_check_run(check_id=waiting.pk, force=True)
        waiting.payment.refresh_from_db()
        return waiting.payment
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
    params = {
        "amount_cents": to_cents(amount),
        "currency": payment.currency,
        "customer_id": customer.stripe_customer_id,
        "payment_method_id": card.stripe_payment_method_id,
        "capture_method": capture_method,
        "description": description,
        "metadata": _metadata(payment),
    }
    key = f"bloom-pi-{payment.pk}"
    try:
        result = stripe_client.payment_intent_create(idempotency_key=key, **params)
    except StripeCardError as exc:
        return _card_refused(payment=payment, error=exc)
    except StripeOutcomeUnknown as exc:
        _check_open(payment=payment, operation=StripeCheckOperation.PAYMENT_CREATE, key=key, params=params, error=exc)
        payment.refresh_from_db()
        return payment
    return _apply_intent_result(payment=payment, intent=result)


def _card_refused(*, payment: PaymentIntent, error: StripeCardError) -> PaymentIntent:
    """A definite no from the card: ask the member to authenticate, or fail the payment."""
    intent = error.payment_intent
    intent_id = stripe_client.object_id(intent.get("id"), "pi")
    if intent_id:
        PaymentIntent.objects.filter(pk=payment.pk, stripe_payment_intent_id__isnull=True).update(
            stripe_payment_intent_id=intent_id
        )
    message = card_error_message(code=error.code, decline_code=error.decline_code)
    logger.info("card refused for payment %s: %s", payment.pk, error.summary)
    if error.code == "authentication_required" or intent.get("status") == "requires_action":
        payment_needs_action_flag(payment=payment, message=message)
    else:
        payment_status_apply(payment=payment, status=PaymentStatus.FAILED, at=timezone.now(), failure_message=message)
    payment.refresh_from_db()
    return payment


def stripe_captured_amount(intent: dict, asked_cents: int | None = None) -> Decimal | None:
    """What Stripe says a PaymentIntent captured: `amount_received`, else its charge's
    `amount_captured` (when `latest_charge` is expanded), else what Bloom asked to capture.
    None means the full amount."""
    received = intent.get("amount_received")
    if isinstance(received, int) and not isinstance(received, bool) and received > 0:
        return from_cents(received)
    charge = intent.get("latest_charge")
    captured = charge.get("amount_captured") if isinstance(charge, dict) else None
    if isinstance(captured, int) and not isinstance(captured, bool) and captured > 0:
        return from_cents(captured)
    return from_cents(asked_cents) if asked_cents else None


def _apply_intent_result(*, payment: PaymentIntent, intent: dict, asked_cents: int | None = None) -> PaymentIntent:
    """Apply a PaymentIntent Stripe returned (create, capture, cancel) to the payment.

    Only ids are stored from expandable fields. `asked_cents` is the amount Bloom asked to
    capture, used when Stripe's answer does not say what it captured.
    """
    intent_id = stripe_client.object_id(intent.get("id"), "pi")
    charge_id = stripe_client.object_id(intent.get("latest_charge"), "ch")
    updates = {"stripe_payment_intent_id": intent_id} if intent_id else {}
    if charge_id:
        updates["stripe_charge_id"] = charge_id
    if updates:
        PaymentIntent.objects.filter(pk=payment.pk).update(**updates)
    status = intent.get("status")
    now = timezone.now()
    if status == "succeeded":
        if asked_cents is None and payment.metadata.get("amount_capturable"):
            # A full capture of a partial authorisation takes what was authorised.
            asked_cents = to_cents(Decimal(payment.metadata["amount_capturable"]))
        payment_mark_succeeded(
            payment=payment, stripe_charge_id=charge_id, amount=stripe_captured_amount(intent, asked_cents)
        )
    elif status == "requires_capture":
        capturable = intent.get("amount_capturable")
        if isinstance(capturable, int) and 0 < capturable < payment.amount_cents:
            # A partial authorisation: only this much can be captured.
            PaymentIntent.objects.filter(pk=payment.pk).update(
                metadata={**payment.metadata, "amount_capturable": str(from_cents(capturable))}
            )
        payment_status_apply(payment=payment, status=PaymentStatus.REQUIRES_CAPTURE, at=now)
    elif status == "requires_action":
        payment_needs_action_flag(payment=payment, message=card_error_message(code="authentication_required"))
    elif status == "processing":
        payment_status_apply(payment=payment, status=PaymentStatus.PROCESSING, at=now)
    elif status == "canceled":
        payment_status_apply(payment=payment, status=PaymentStatus.CANCELED, at=now)
    elif status == "requires_payment_method":
        payment_status_apply(
            payment=payment, status=PaymentStatus.FAILED, at=now, failure_message=CARD_DECLINED_MESSAGE
        )
    payment.refresh_from_db()
    return payment


def payment_authorize(
    *, member, kind: str, object_id: str, amount: Decimal, charge_date: datetime, description: str
) -> PaymentIntent:
    """Hold `amount` on the member's default card (manual capture, off-session).

    Card authorisations lapse after about 7 days, so this refuses (ApplicationError) to
    authorise more than 6 days before `charge_date`. A card that needs the member to
    authenticate leaves the payment awaiting payment with `needs_action` and sends a notice
    and email with a link to complete it; a refused card leaves it `failed` with a message
    in Bloom's words (`card_error_message`). Any other error leaves the outcome unknown: the
    payment stays awaiting payment with an open StripeCheck ("checking with Stripe"), and
    the same request is retried with the same idempotency key until Stripe or its webhook
    settles it; the member is told nothing until then. Asking again for the same member,
    kind and object while that check is open re-sends that request instead of charging anew.
    Returns the payment (`requires_capture` when the hold succeeded).
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

    Succeeds through `payment_mark_succeeded` (on_paid once); authentication, a refused
    card and an unknown outcome are handled as in `payment_authorize`.
    """
    return _off_session_payment(
        member=member,
        kind=kind,
        object_id=object_id,
        amount=amount,
        description=description,
        capture_method=CaptureMethod.AUTOMATIC,
    )


def _refuse_while_checking(check: StripeCheck, operation: str) -> None:
    if check.operation != operation:
        raise ApplicationError(
            f"Stripe has not confirmed the last request for this payment yet ({check.get_operation_display().lower()}); "
            "it is retried automatically. Try again once it is settled."
        )


def payment_capture(*, payment: PaymentIntent, amount: Decimal | None = None) -> PaymentIntent:
    """Capture an authorised payment in full or in part (the rest of the hold is released).

    Idempotent per payment and amount (Stripe idempotency key); on success the payment
    becomes paid through `payment_mark_succeeded` with the amount Stripe says it captured
    (`stripe_captured_amount`). A refused card fails the payment (on_failed). Any other error
    raises PaymentOutcomeUnknown after opening a StripeCheck; calling again while it is
    open re-sends the same capture (a different amount is refused).
    """
    payment.refresh_from_db()
    if payment.is_paid:
        return payment
    if amount is not None:
        amount = Decimal(amount).quantize(Decimal("0.01"))
    cents = to_cents(amount) if amount is not None else None
    check = selectors.stripe_check_open_for_payment(payment=payment)
    if check is not None:
        _refuse_while_checking(check, StripeCheckOperation.CAPTURE)
        if check.params.get("amount_cents") != cents:
            raise ApplicationError(
                "A capture of a different amount is still being confirmed with Stripe; it is retried automatically."
            )
        return _check_rerun(check)
    if payment.status != PaymentStatus.REQUIRES_CAPTURE or not payment.stripe_payment_intent_id:
        raise ApplicationError("Only an authorised payment can be captured.")
    if amount is not None and not 0 < amount <= payment.amount:
        raise ApplicationError("The captured amount must be more than zero and at most the authorised amount.")
    key = f"bloom-capture-{payment.pk}-{cents or 'full'}"
    params = {"payment_intent_id": payment.stripe_payment_intent_id, "amount_cents": cents}
    try:
        result = stripe_client.payment_intent_capture(idempotency_key=key, **params)
    except StripeCardError as exc:
        return _card_refused(payment=payment, error=exc)
    except StripeOutcomeUnknown as exc:
        check = _check_open(payment=payment, operation=StripeCheckOperation.CAPTURE, key=key, params=params, error=exc)
        raise PaymentOutcomeUnknown(_UNKNOWN_MESSAGES[StripeCheckOperation.CAPTURE], check=check) from exc
    return _apply_intent_result(payment=payment, intent=result, asked_cents=cents)


def payment_release(*, payment: PaymentIntent) -> PaymentIntent:
    """Release an authorisation (cancel the PaymentIntent). The kind's on_failed is not called:
    the caller asked for it. Releasing an already released payment does nothing.

    When Stripe does not answer, raises PaymentOutcomeUnknown after opening a StripeCheck
    (the hold may or may not be gone); the same cancel is retried with the same key.
    """
    payment.refresh_from_db()
    if payment.status == PaymentStatus.CANCELED:
        return payment
    check = selectors.stripe_check_open_for_payment(payment=payment)
    if check is not None:
        _refuse_while_checking(check, StripeCheckOperation.RELEASE)
        return _check_rerun(check)
    if payment.status not in (PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.REQUIRES_PAYMENT):
        raise ApplicationError("Only an authorisation that was not captured can be released.")
    if payment.stripe_payment_intent_id:
        key = f"bloom-release-{payment.pk}"
        params = {"payment_intent_id": payment.stripe_payment_intent_id}
        try:
            result = stripe_client.payment_intent_cancel(idempotency_key=key, **params)
        except StripeCallError as exc:
            check = _check_open(
                payment=payment, operation=StripeCheckOperation.RELEASE, key=key, params=params, error=exc
            )
            raise PaymentOutcomeUnknown(_UNKNOWN_MESSAGES[StripeCheckOperation.RELEASE], check=check) from exc
        if result.get("status") != "canceled":
            return _apply_intent_result(payment=payment, intent=result)
    return _released(payment)


def _released(payment: PaymentIntent) -> PaymentIntent:
    with transaction.atomic():
        locked = _lock(payment)
        if locked.status in (PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.REQUIRES_PAYMENT):
            locked.status = PaymentStatus.CANCELED
            locked.status_changed_at = timezone.now()
            locked.save(update_fields=["status", "status_changed_at", "updated_at"])
        _checks_settle(payment=locked, operations=_SETTLED_BY_STATUS[PaymentStatus.CANCELED], outcome="released")
        return locked


# --- Checks with Stripe: requests whose outcome is unknown ---------------------------------
#
# A request that got no clear answer (StripeOutcomeUnknown) may have been carried out. It is
# recorded as a StripeCheck with the exact arguments sent; `stripe_check_run` sends that same
# request again with the same idempotency key (Stripe replays what it did, or does it now)
# on the schedule in STRIPE_CHECK_RETRY_DELAYS, driven by the beat sweeper. A webhook that
# reports the object's new state settles the check too (`_checks_settle` in the services
# that apply states). Nobody is told the request failed while it is open.

_UNKNOWN_MESSAGES = {
    StripeCheckOperation.PAYMENT_CREATE: (
        "Stripe did not confirm this charge. It may or may not have gone through, so Bloom is checking "
        "with Stripe (the same request, so the card cannot be charged twice) and will settle it by itself."
    ),
    StripeCheckOperation.CAPTURE: (
        "Stripe did not confirm the capture. Bloom is checking with Stripe (the same request, so nothing "
        "is captured twice) and will settle it by itself; there is nothing to do now."
    ),
    StripeCheckOperation.RELEASE: (
        "Stripe did not confirm that the hold was released. Bloom is checking with Stripe and will "
        "settle it by itself; there is nothing to do now."
    ),
    StripeCheckOperation.REFUND: (
        "Stripe did not confirm the refund. It stays approved and Bloom is checking with Stripe (the same "
        "request, so it cannot be refunded twice); it settles by itself. Do not refund it again in the "
        "Stripe dashboard."
    ),
}

# Which open checks a payment's new state answers.
_SETTLED_BY_STATUS = {
    PaymentStatus.SUCCEEDED: tuple(StripeCheckOperation.values),
    PaymentStatus.PROCESSING: (StripeCheckOperation.PAYMENT_CREATE,),
    PaymentStatus.REQUIRES_CAPTURE: (StripeCheckOperation.PAYMENT_CREATE,),
    PaymentStatus.FAILED: (StripeCheckOperation.PAYMENT_CREATE, StripeCheckOperation.CAPTURE),
    PaymentStatus.CANCELED: (
        StripeCheckOperation.PAYMENT_CREATE,
        StripeCheckOperation.CAPTURE,
        StripeCheckOperation.RELEASE,
    ),
}

# Stripe keeps an idempotency key's answer for at least 24 hours; a create or refund is never
# sent again once its first request is older than this, since Stripe might then act anew.
IDEMPOTENCY_WINDOW = timedelta(hours=23)
# A runner owns a check this long while its request is in flight.
CHECK_LEASE = timedelta(minutes=2)


def _retry_at(attempts: int, now: datetime) -> datetime | None:
    index = attempts - 1
    if index >= len(STRIPE_CHECK_RETRY_DELAYS):
        return None
    return now + timedelta(seconds=STRIPE_CHECK_RETRY_DELAYS[index])


def _check_open(
    *,
    payment: PaymentIntent,
    operation: str,
    key: str,
    params: dict,
    error: StripeCallError,
    refund: RefundRequest | None = None,
) -> StripeCheck:
    """Record a request whose outcome Stripe did not tell; the sweeper sends it again."""
    logger.warning("no clear answer from Stripe for %s (%s): %s", operation, key, error.summary)
    now = timezone.now()
    check, created = StripeCheck.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "payment": payment,
            "refund": refund,
            "operation": operation,
            "params": params,
            "attempts": 1,
            "next_attempt_at": _retry_at(1, now),
            "last_error": error.summary,
        },
    )
    if not created:
        check.attempts += 1
        check.settled_at, check.outcome = None, ""
        check.next_attempt_at = _retry_at(check.attempts, now)
        check.last_error = error.summary
        check.save(update_fields=["attempts", "settled_at", "outcome", "next_attempt_at", "last_error", "updated_at"])
    return check


def _checks_settle(*, payment: PaymentIntent, operations, outcome: str, refund: RefundRequest | None = None) -> int:
    """Close the open checks of a payment (or of one refund) that a known state now answers."""
    checks = StripeCheck.objects.filter(payment=payment, settled_at__isnull=True)
    checks = checks.filter(refund=refund) if refund is not None else checks.filter(refund__isnull=True)
    return checks.filter(operation__in=list(operations)).update(
        settled_at=timezone.now(), next_attempt_at=None, outcome=outcome[:200], updated_at=timezone.now()
    )


def _check_close(check: StripeCheck, outcome: str) -> None:
    StripeCheck.objects.filter(pk=check.pk, settled_at__isnull=True).update(
        settled_at=timezone.now(), next_attempt_at=None, outcome=outcome[:200], updated_at=timezone.now()
    )


def _check_rerun(check: StripeCheck) -> PaymentIntent:
    """A staff retry of an open capture or release: the same request again, now."""
    if stripe_check_run(check_id=check.pk, force=True) == "unknown":
        check.refresh_from_db()
        raise PaymentOutcomeUnknown(_UNKNOWN_MESSAGES[check.operation], check=check)
    check.payment.refresh_from_db()
    return check.payment


def stripe_check_run(*, check_id, force: bool = False) -> str:
    """Send an open check's request to Stripe again (same arguments, same idempotency key) and apply the answer.

    Without `force` only a check that is due runs. The check is claimed first (a lease on
    `next_attempt_at`, taken under a SKIP LOCKED row lock), so the sweeper's runs never send
    it twice at once. A create or refund whose first request is older than
    IDEMPOTENCY_WINDOW is not sent again (Stripe may have forgotten the key and would act
    anew): it waits for the webhook or staff. Returns "answered" (settled by Stripe's answer),
    "declined" (the card refused: the payment failed), "unknown" (still no answer; retried
    later, staff alerted once the retries are used up), "not_due", "expired" or "settled".
    """
    now = timezone.now()
    with transaction.atomic():
        check = (
            StripeCheck.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("payment", "refund")
            .filter(pk=check_id, settled_at__isnull=True)
            .first()
        )
        if check is None:
            return "settled"
        if not force and (check.next_attempt_at is None or check.next_attempt_at > now):
            return "not_due"
        replays = check.operation in (StripeCheckOperation.PAYMENT_CREATE, StripeCheckOperation.REFUND)
        if replays and now - check.created_at > IDEMPOTENCY_WINDOW:
            check.next_attempt_at = None
            check.save(update_fields=["next_attempt_at", "updated_at"])
            _check_alert_staff(check)
            return "expired"
        check.attempts += 1
        check.next_attempt_at = now + CHECK_LEASE
        check.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    try:
        answer = _check_send(check)
    except StripeCardError as exc:
        with transaction.atomic():
            _check_close(check, f"card refused on attempt {check.attempts}: {exc.decline_code or exc.code}")
            _card_refused(payment=check.payment, error=exc)
        return "declined"
    except StripeOutcomeUnknown as exc:
        logger.warning("still no clear answer from Stripe for %s: %s", check.idempotency_key, exc.summary)
        with transaction.atomic():
            check = (
                StripeCheck.objects.select_for_update(of=("self",)).select_related("payment", "refund").get(pk=check.pk)
            )
            if check.settled_at is not None:  # a webhook settled it meanwhile
                return "settled"
            check.last_error = exc.summary
            check.next_attempt_at = _retry_at(check.attempts, timezone.now())
            check.save(update_fields=["last_error", "next_attempt_at", "updated_at"])
            if check.next_attempt_at is None:
                _check_alert_staff(check)
        return "unknown"
    with transaction.atomic():
        _check_close(check, f"Stripe answered on attempt {check.attempts}: {answer.get('status', '')}")
        _check_apply(check, answer)
    return "answered"


def _check_send(check: StripeCheck) -> dict:
    params = dict(check.params)
    key = check.idempotency_key
    if check.operation == StripeCheckOperation.PAYMENT_CREATE:
        return stripe_client.payment_intent_create(idempotency_key=key, **params)
    if check.operation == StripeCheckOperation.CAPTURE:
        return stripe_client.payment_intent_capture(idempotency_key=key, **params)
    try:
        if check.operation == StripeCheckOperation.RELEASE:
            return stripe_client.payment_intent_cancel(idempotency_key=key, **params)
        return stripe_client.refund_create(idempotency_key=key, **params)
    except StripeCardError as exc:  # not a card's answer to a cancel or a refund
        raise StripeOutcomeUnknown(exc.message, code=exc.code, http_status=exc.http_status) from exc


def _check_apply(check: StripeCheck, answer: dict) -> None:
    payment = check.payment
    if check.operation == StripeCheckOperation.REFUND:
        _refund_answered(refund=check.refund, result=answer)
    elif check.operation == StripeCheckOperation.RELEASE and answer.get("status") == "canceled":
        _released(payment)
    else:
        _apply_intent_result(payment=payment, intent=answer, asked_cents=check.params.get("amount_cents"))


def _check_alert_staff(check: StripeCheck) -> None:
    if check.staff_alerted_at is None:
        StripeCheck.objects.filter(pk=check.pk).update(staff_alerted_at=timezone.now())
        notices.stripe_check_stuck(check=check)


def stripe_checks_due(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Ids of open checks whose next attempt is due (the sweeper sends one task per id)."""
    now = now or timezone.now()
    due = StripeCheck.objects.filter(settled_at__isnull=True, next_attempt_at__lte=now).order_by("next_attempt_at")
    return [str(pk) for pk in due.values_list("pk", flat=True)[:limit]]


def payment_checks_run_now(*, payment: PaymentIntent) -> list[str]:
    """Staff: ask Stripe again now about every open check of a payment and of its refunds."""
    ids = StripeCheck.objects.filter(payment=payment, settled_at__isnull=True).values_list("pk", flat=True)
    return [stripe_check_run(check_id=pk, force=True) for pk in ids]


def stripe_checks_reconcile() -> dict[str, int]:
    """`stripe_reconcile`: every open check is asked about now, out of retries or not. Returns counts by result."""
    counts: dict[str, int] = {}
    for pk in StripeCheck.objects.filter(settled_at__isnull=True).order_by("created_at").values_list("pk", flat=True):
        result = stripe_check_run(check_id=pk, force=True)
        counts[result] = counts.get(result, 0) + 1
    return counts


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
        if stripe_check_run(check_id=check.pk, force=True) == "unknown":
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
