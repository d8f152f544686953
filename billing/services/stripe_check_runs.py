"""Checks with Stripe: asking Stripe again, with the same idempotency key, until it answers."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .. import notices, stripe_client
from ..models import (
    PaymentIntent,
    StripeCheck,
    StripeCheckOperation,
)
from ..stripe_client import StripeCardError, StripeOutcomeUnknown
from . import cards, refunds
from .base import PaymentOutcomeUnknown
from .stripe_checks import _UNKNOWN_MESSAGES, CHECK_LEASE, IDEMPOTENCY_WINDOW, _check_close, _retry_at

logger = logging.getLogger(__name__)


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
            cards._card_refused(payment=check.payment, error=exc)
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
        refunds._refund_answered(refund=check.refund, result=answer)
    elif check.operation == StripeCheckOperation.RELEASE and answer.get("status") == "canceled":
        cards._released(payment)
    else:
        cards._apply_intent_result(payment=payment, intent=answer, asked_cents=check.params.get("amount_cents"))


def _check_alert_staff(check: StripeCheck) -> None:
    if check.staff_alerted_at is None:
        StripeCheck.objects.filter(pk=check.pk).update(staff_alerted_at=timezone.now())
        notices.stripe_check_stuck(check=check)


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
