"""Every call Bloom makes to Stripe's API (docs/adr/0031, 0036).

- `stripe` is imported lazily: it costs about 0.6 s, and most processes (web workers
  serving pages, the email worker) never call Stripe.
- The API key comes from settings (the environment); `stripe.api_base` follows
  `settings.STRIPE_API_BASE`, so tests and benchmarks point it at a local fake server.
- Every create carries an idempotency key built from Bloom's own ids, so a retried
  request (ours or the library's network retries) never charges or refunds twice.
- Timeouts are short and the library retries a failed request once, so a call made in a
  web request gives up within about 20 s (gunicorn's worker timeout is 30 s); Bloom's
  own retry task carries on from there with the same idempotency key.
- Results are plain dicts shaped like Stripe's JSON, checked to be the object asked for.
  Stripe's errors come out in two kinds, so callers never import `stripe`: `StripeCardError`
  (the card was refused: a definite no) and `StripeOutcomeUnknown` (everything else:
  timeout, refused connection, 5xx, 429, invalid request, a malformed answer). After an
  unknown outcome Stripe may or may not have acted.

Webhook signatures are verified without the library (billing.webhooks).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings

# Defaults for the settings STRIPE_CONNECT_TIMEOUT_SECONDS, STRIPE_READ_TIMEOUT_SECONDS and
# STRIPE_MAX_NETWORK_RETRIES. Worst case for one call: (1 + retries) x read timeout plus
# the library's backoff of about a second.
CONNECT_TIMEOUT_SECONDS = 3.05
READ_TIMEOUT_SECONDS = 8.0
MAX_NETWORK_RETRIES = 1

_configured_for: tuple | None = None

# A Stripe object id: a lowercase prefix, an underscore, then letters, digits and underscores
# (`ch_3Nx...`, `cs_test_a1...`, `seti_1P...`).
_ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9_]+$")


class StripeCallError(Exception):
    """Stripe refused or could not answer a call.

    `message` is Stripe's own text (or the library's): for logs and staff, never for a
    member. `code` / `decline_code` are Stripe's error codes when there are any;
    `payment_intent` is the PaymentIntent Stripe returned with a card error.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        decline_code: str = "",
        http_status: int | None = None,
        payment_intent: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code
        self.http_status = http_status
        self.payment_intent = payment_intent or {}

    @property
    def summary(self) -> str:
        """One line for staff: the kind of failure, the HTTP status and Stripe's text."""
        status = f" HTTP {self.http_status}" if self.http_status else ""
        code = f" [{self.code}]" if self.code else ""
        # An unreadable answer is quoted in the message; PostgreSQL refuses NUL in text.
        text = "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in self.message)
        return f"{type(self).__name__}{status}{code}: {text}"[:2000]


class StripeCardError(StripeCallError):
    """The card was refused (declined, insufficient funds, authentication required): a definite no."""


class StripeOutcomeUnknown(StripeCallError):
    """Stripe may or may not have acted: ask again with the same idempotency key."""


def object_id(value: Any, prefix: str | None = None) -> str | None:
    """The id of an expandable field: a string id, or an expanded object's "id"; None for anything else.

    With `prefix` ("ch", "pi", "cus" ...) the id must also be of that type.
    """
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not _ID_RE.match(value) or len(value) > 255:
        return None
    if prefix is not None and not value.startswith(f"{prefix}_"):
        return None
    return value


def _stripe():
    global _configured_for
    import stripe

    config = (
        settings.STRIPE_API_BASE,
        float(getattr(settings, "STRIPE_CONNECT_TIMEOUT_SECONDS", CONNECT_TIMEOUT_SECONDS)),
        float(getattr(settings, "STRIPE_READ_TIMEOUT_SECONDS", READ_TIMEOUT_SECONDS)),
        int(getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", MAX_NETWORK_RETRIES)),
    )
    if _configured_for != config:
        api_base, connect, read, retries = config
        stripe.api_base = api_base
        stripe.enable_telemetry = False
        stripe.max_network_retries = retries
        stripe.default_http_client = stripe.RequestsClient(timeout=(connect, read))
        _configured_for = config
    return stripe


def _call(method: str, *args, expect: str | None = None, **kwargs) -> dict:
    """Call `stripe.<method>` ("Refund.create"); map its errors to the two kinds; check the answer.

    With `expect` the answer must be that kind of object ("list": a page of them).
    """
    stripe = _stripe()
    fn = operator.attrgetter(method)(stripe)
    try:
        result = fn(*args, api_key=settings.STRIPE_SECRET_KEY, **kwargs)
    except stripe.CardError as exc:
        error = getattr(exc, "error", None)
        payment_intent = getattr(error, "payment_intent", None) if error is not None else None
        raise StripeCardError(
            exc.user_message or str(exc) or "card error",
            code=exc.code or "",
            decline_code=str(getattr(error, "decline_code", None) or ""),
            http_status=exc.http_status,
            payment_intent=payment_intent.to_dict() if payment_intent is not None else None,
        ) from exc
    except stripe.StripeError as exc:
        raise StripeOutcomeUnknown(
            str(exc) or type(exc).__name__, code=getattr(exc, "code", None) or "", http_status=exc.http_status
        ) from exc
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if not isinstance(data, dict):
        raise StripeOutcomeUnknown(f"Stripe answered with {type(data).__name__}, not an object")
    if expect is not None:
        shaped = isinstance(data.get("data"), list) if expect == "list" else object_id(data.get("id")) is not None
        if data.get("object") != expect or not shaped:
            raise StripeOutcomeUnknown(f"Stripe's answer is not a {expect} (object={data.get('object')!r})")
    return data


def _create(resource: str, *, idempotency_key: str, **params) -> dict:
    """`stripe.<resource>.create` with the idempotency key; the answer must be a `resource` object."""
    expect = operator.attrgetter(resource)(_stripe()).OBJECT_NAME
    return _call(f"{resource}.create", expect=expect, idempotency_key=idempotency_key, **params)


def _on_payment_intent(method: str, payment_intent_id: str, **params) -> dict:
    """`stripe.PaymentIntent.<method>` on one PaymentIntent; the answer must be a PaymentIntent."""
    return _call(f"PaymentIntent.{method}", payment_intent_id, expect="payment_intent", **params)


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
    return _create(
        "checkout.Session",
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
    return _create("Customer", idempotency_key=idempotency_key, email=email, name=name, metadata=metadata)


def setup_intent_create(*, idempotency_key: str, customer_id: str, metadata: dict[str, str]) -> dict:
    """A SetupIntent that saves a card on the customer for later off-session charges."""
    return _create(
        "SetupIntent",
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
    return _create(
        "PaymentIntent",
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
    return _on_payment_intent("retrieve", payment_intent_id)


def payment_intent_capture(*, idempotency_key: str, payment_intent_id: str, amount_cents: int | None) -> dict:
    params = _clean({"amount_to_capture": amount_cents})
    return _on_payment_intent("capture", payment_intent_id, idempotency_key=idempotency_key, **params)


def payment_intent_cancel(*, idempotency_key: str, payment_intent_id: str) -> dict:
    return _on_payment_intent("cancel", payment_intent_id, idempotency_key=idempotency_key)


def refund_create(*, idempotency_key: str, payment_intent_id: str, amount_cents: int, metadata: dict[str, str]) -> dict:
    return _create(
        "Refund",
        idempotency_key=idempotency_key,
        payment_intent=payment_intent_id,
        amount=amount_cents,
        metadata=metadata,
    )


def payment_method_detach(*, payment_method_id: str) -> dict:
    return _call("PaymentMethod.detach", payment_method_id, expect="payment_method")


def event_list(*, created_gte: int, types: list[str] | None = None) -> Iterator[dict]:
    """Every event created at or after `created_gte` (epoch seconds), newest first, page by page."""
    starting_after: str | None = None
    while True:
        page = _call(
            "Event.list",
            expect="list",
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
