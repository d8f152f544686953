"""Every call Bloom makes to Stripe's API (docs/adr/0031).

- `stripe` is imported lazily: it costs about 0.6 s, and most processes (web workers
  serving pages, the email worker) never call Stripe.
- The API key comes from settings (the environment); `stripe.api_base` follows
  `settings.STRIPE_API_BASE`, so tests and benchmarks point it at a local fake server.
- Every create carries an idempotency key built from Bloom's own ids, so a retried
  request (ours or the library's network retries) never charges or refunds twice.
- Results are plain dicts shaped like Stripe's JSON; Stripe's errors become
  `StripeCallError`, so callers never import `stripe`.

Webhook signatures are verified without the library (billing.webhooks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings

_configured_for: str | None = None


class StripeCallError(Exception):
    """Stripe refused or could not answer a call.

    `code` is Stripe's error code (`card_declined`, `authentication_required` ...) when
    there is one; `payment_intent` is the PaymentIntent Stripe returned with a card error.
    """

    def __init__(self, message: str, *, code: str = "", payment_intent: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.payment_intent = payment_intent or {}


def _stripe():
    global _configured_for
    import stripe

    if _configured_for != settings.STRIPE_API_BASE:
        stripe.api_base = settings.STRIPE_API_BASE
        stripe.enable_telemetry = False
        stripe.max_network_retries = 2
        stripe.default_http_client = stripe.RequestsClient(timeout=(3.05, 20))
        _configured_for = settings.STRIPE_API_BASE
    return stripe


def _call(fn, *args, **kwargs) -> dict:
    stripe = _stripe()
    try:
        result = fn(*args, api_key=settings.STRIPE_SECRET_KEY, **kwargs)
    except stripe.StripeError as exc:
        error = getattr(exc, "error", None)
        payment_intent = getattr(error, "payment_intent", None) if error is not None else None
        raise StripeCallError(
            getattr(exc, "user_message", None) or str(exc) or type(exc).__name__,
            code=getattr(exc, "code", None) or "",
            payment_intent=payment_intent.to_dict() if payment_intent is not None else None,
        ) from exc
    return result.to_dict()


def _clean(params: dict) -> dict:
    return {key: value for key, value in params.items() if value is not None}


def checkout_session_create(
    *,
    idempotency_key: str,
    amount_cents: int,
    currency: str,
    description: str,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
    customer_email: str | None = None,
    customer_id: str | None = None,
) -> dict:
    """A Checkout Session in payment mode for one line; the PaymentIntent carries the same metadata."""
    stripe = _stripe()
    return _call(
        stripe.checkout.Session.create,
        idempotency_key=idempotency_key,
        **_clean(
            {
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": currency,
                            "unit_amount": amount_cents,
                            "product_data": {"name": description[:250] or "Bloom Psychology"},
                        },
                    }
                ],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": metadata.get("bloom_payment_id"),
                "metadata": metadata,
                "payment_intent_data": {"metadata": metadata, "description": description[:250]},
                "customer": customer_id,
                "customer_email": None if customer_id else customer_email,
            }
        ),
    )


def customer_create(*, idempotency_key: str, email: str, name: str, metadata: dict[str, str]) -> dict:
    stripe = _stripe()
    return _call(stripe.Customer.create, idempotency_key=idempotency_key, email=email, name=name, metadata=metadata)


def setup_intent_create(*, idempotency_key: str, customer_id: str, metadata: dict[str, str]) -> dict:
    """A SetupIntent that saves a card on the customer for later off-session charges."""
    stripe = _stripe()
    return _call(
        stripe.SetupIntent.create,
        idempotency_key=idempotency_key,
        customer=customer_id,
        usage="off_session",
        payment_method_types=["card"],
        metadata=metadata,
    )


def payment_intent_create(
    *,
    idempotency_key: str,
    amount_cents: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    capture_method: str,
    description: str,
    metadata: dict[str, str],
) -> dict:
    """Create and confirm an off-session PaymentIntent on a saved card."""
    stripe = _stripe()
    return _call(
        stripe.PaymentIntent.create,
        idempotency_key=idempotency_key,
        amount=amount_cents,
        currency=currency,
        customer=customer_id,
        payment_method=payment_method_id,
        capture_method=capture_method,
        confirm=True,
        off_session=True,
        description=description[:250],
        metadata=metadata,
    )


def payment_intent_retrieve(*, payment_intent_id: str) -> dict:
    stripe = _stripe()
    return _call(stripe.PaymentIntent.retrieve, payment_intent_id)


def payment_intent_capture(*, idempotency_key: str, payment_intent_id: str, amount_cents: int | None) -> dict:
    stripe = _stripe()
    return _call(
        stripe.PaymentIntent.capture,
        payment_intent_id,
        idempotency_key=idempotency_key,
        **_clean({"amount_to_capture": amount_cents}),
    )


def payment_intent_cancel(*, idempotency_key: str, payment_intent_id: str) -> dict:
    stripe = _stripe()
    return _call(stripe.PaymentIntent.cancel, payment_intent_id, idempotency_key=idempotency_key)


def refund_create(*, idempotency_key: str, payment_intent_id: str, amount_cents: int, metadata: dict[str, str]) -> dict:
    stripe = _stripe()
    return _call(
        stripe.Refund.create,
        idempotency_key=idempotency_key,
        payment_intent=payment_intent_id,
        amount=amount_cents,
        metadata=metadata,
    )


def payment_method_detach(*, payment_method_id: str) -> dict:
    stripe = _stripe()
    return _call(stripe.PaymentMethod.detach, payment_method_id)


def event_list(*, created_gte: int, types: list[str] | None = None) -> Iterator[dict]:
    """Every event created at or after `created_gte` (epoch seconds), newest first, page by page."""
    stripe = _stripe()
    starting_after: str | None = None
    while True:
        page = _call(
            stripe.Event.list,
            **_clean(
                {
                    "created": {"gte": created_gte},
                    "limit": 100,
                    "starting_after": starting_after,
                    "types": types,
                }
            ),
        )
        data: list[dict[str, Any]] = page.get("data", [])
        yield from data
        if not page.get("has_more") or not data:
            return
        starting_after = data[-1]["id"]
