"""Checkout: a payment row and a Stripe Checkout Session for it."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url

from .. import stripe_client
from ..models import (
    BillingCustomer,
    PaymentIntent,
    PaymentStatus,
    to_cents,
)
from ..stripe_client import StripeCallError, StripeOutcomeUnknown
from .base import CheckoutStart, CheckoutUnavailable, _metadata, _require_kind
from .payments import payment_mark_succeeded, payment_status_apply

logger = logging.getLogger(__name__)


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
