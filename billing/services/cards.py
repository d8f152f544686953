"""Saved cards and authorise-then-capture (off-session charges, captures, releases)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bloom.exceptions import ApplicationError

from .. import selectors, stripe_client
from ..models import (
    BillingCustomer,
    CaptureMethod,
    PaymentIntent,
    PaymentStatus,
    StripeCheck,
    StripeCheckOperation,
    UserPaymentMethod,
    from_cents,
    to_cents,
)
from ..stripe_client import StripeCallError, StripeCardError, StripeOutcomeUnknown
from . import stripe_check_runs
from .base import (
    AUTHORIZE_WINDOW,
    CARD_DECLINED_MESSAGE,
    CheckoutUnavailable,
    PaymentOutcomeUnknown,
    _metadata,
    _require_kind,
    card_error_message,
)
from .payments import _lock, payment_mark_succeeded, payment_needs_action_flag, payment_status_apply
from .stripe_checks import _SETTLED_BY_STATUS, _UNKNOWN_MESSAGES, _check_open, _checks_settle

logger = logging.getLogger(__name__)


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
    idempotency_key: str | None = None,
) -> PaymentIntent:
    _require_kind(kind)
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise ApplicationError("The amount must be more than zero.")
    if idempotency_key:
        earlier = _keyed_payment(member=member, key=idempotency_key, amount=amount, capture_method=capture_method)
        if earlier is not None:
            return earlier
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
        stripe_check_runs.stripe_check_run(check_id=waiting.pk, force=True)
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
        metadata={
            REQUEST_KEY: idempotency_key,
            "bloom_customer_id": customer.stripe_customer_id,
            "bloom_payment_method_id": card.stripe_payment_method_id,
        }
        if idempotency_key
        else {},
    )
    return _payment_intent_send(payment=payment)


# The caller's idempotency key and the card it was asked on, kept in the payment's metadata
# (`bloom_` keys never reach Stripe's metadata), so the request can be sent again as it was
# (docs/adr/0205).
REQUEST_KEY = "bloom_request_key"


def _keyed_payment(*, member, key: str, amount: Decimal, capture_method: str) -> PaymentIntent | None:
    """The payment an earlier call with this caller key made, brought up to date; None if none.

    A payment Stripe never answered for (the worker died between creating the row and
    hearing Stripe) is sent again with the very same request and key, so Stripe replays
    what it did instead of acting twice.
    """
    payment = PaymentIntent.objects.filter(user=member, **{f"metadata__{REQUEST_KEY}": key}).first()
    if payment is None:
        return None
    if payment.amount != amount or payment.capture_method != capture_method:
        raise ApplicationError("This request was already made with a different amount; it cannot be changed.")
    check = StripeCheck.objects.filter(
        payment=payment, operation=StripeCheckOperation.PAYMENT_CREATE, settled_at__isnull=True
    ).first()
    if check is not None:
        stripe_check_runs.stripe_check_run(check_id=check.pk, force=True)
        payment.refresh_from_db()
        return payment
    unanswered = (
        payment.status == PaymentStatus.REQUIRES_PAYMENT
        and not payment.stripe_payment_intent_id
        and not payment.needs_action
        and not StripeCheck.objects.filter(payment=payment).exists()
    )
    return _payment_intent_send(payment=payment) if unanswered else payment


def _payment_intent_send(*, payment: PaymentIntent) -> PaymentIntent:
    """Ask Stripe to create the PaymentIntent of `payment` (its key: the caller's, else from its id)."""
    if payment.metadata.get(REQUEST_KEY):
        key = payment.metadata[REQUEST_KEY]
        customer_id = payment.metadata["bloom_customer_id"]
        method_id = payment.metadata["bloom_payment_method_id"]
    else:
        customer, card = _default_card(payment.user)
        key, customer_id, method_id = (
            f"bloom-pi-{payment.pk}",
            customer.stripe_customer_id,
            card.stripe_payment_method_id,
        )
    params = {
        "amount_cents": to_cents(payment.amount),
        "currency": payment.currency,
        "customer_id": customer_id,
        "payment_method_id": method_id,
        "capture_method": payment.capture_method,
        "description": payment.description,
        "metadata": _metadata(payment),
    }
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
    *,
    member,
    kind: str,
    object_id: str,
    amount: Decimal,
    charge_date: datetime,
    description: str,
    idempotency_key: str | None = None,
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

    With `idempotency_key` (the caller's, built from its own ids) that key is Stripe's, and
    a second call with it returns the first call's payment — sending that same request again
    when the first never heard Stripe's answer — so one key is one PaymentIntent at Stripe.
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
        idempotency_key=idempotency_key,
    )


def payment_charge_off_session(
    *, member, kind: str, object_id: str, amount: Decimal, description: str, idempotency_key: str | None = None
) -> PaymentIntent:
    """Charge a fee (e.g. a no-show fee) on the member's default card now, off-session.

    Succeeds through `payment_mark_succeeded` (on_paid once); authentication, a refused
    card, an unknown outcome and `idempotency_key` are handled as in `payment_authorize`.
    """
    return _off_session_payment(
        member=member,
        kind=kind,
        object_id=object_id,
        amount=amount,
        description=description,
        capture_method=CaptureMethod.AUTOMATIC,
        idempotency_key=idempotency_key,
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
        return stripe_check_runs._check_rerun(check)
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
        return stripe_check_runs._check_rerun(check)
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
