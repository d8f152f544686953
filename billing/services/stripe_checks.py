"""Checks with Stripe: requests whose outcome is unknown, recorded (opened, settled, closed).

Asking Stripe again is stripe_check_runs.py."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from ..models import (
    STRIPE_CHECK_RETRY_DELAYS,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    StripeCheck,
    StripeCheckOperation,
)
from ..stripe_client import StripeCallError

logger = logging.getLogger(__name__)
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
