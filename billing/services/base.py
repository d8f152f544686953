"""What billing's services share: their errors, the member-facing card messages, Stripe metadata."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bloom.exceptions import ApplicationError

from ..models import (
    PaymentIntent,
    StripeCheck,
)
from ..registry import purchase_kind_get

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


def _require_kind(kind: str) -> None:
    if purchase_kind_get(kind) is None:
        raise ApplicationError(f"Payments of kind {kind!r} are not accepted (no handler registered).")
