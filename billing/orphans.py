"""Orphaned billing data (see bloom/orphans.py)."""

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from bloom.orphans import OrphanCheck

from .models import PaymentIntent, PaymentStatus, RefundRequest, RefundStatus, StripeCheck, StripeWebhookEvent
from .registry import purchase_kinds


def _payments_of_unknown_kinds():
    return PaymentIntent.objects.exclude(kind__in=list(purchase_kinds()))


def _abandoned_checkouts():
    cutoff = timezone.now() - timezone.timedelta(days=2)
    # A payment still checking with Stripe may have been charged: it is not abandoned.
    checking = StripeCheck.objects.filter(payment=OuterRef("pk"), settled_at__isnull=True)
    return PaymentIntent.objects.filter(status=PaymentStatus.REQUIRES_PAYMENT, created_at__lt=cutoff).exclude(
        Exists(checking)
    )


def _checks_open_for_a_day():
    return StripeCheck.objects.filter(
        settled_at__isnull=True, created_at__lt=timezone.now() - timezone.timedelta(days=1)
    )


def _refunds_of_unpaid_payments():
    return RefundRequest.objects.exclude(
        payment__status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED]
    ).filter(status__in=[RefundStatus.REQUESTED, RefundStatus.APPROVED])


def _refunds_of_another_member():
    return RefundRequest.objects.exclude(user=F("payment__user"))


def _events_out_of_attempts():
    from bloom.taskdef import MAX_ATTEMPTS

    return StripeWebhookEvent.objects.filter(Q(processed=False) | Q(processed__isnull=True), attempts__gte=MAX_ATTEMPTS)


def _reported_only(name: str, find, what_to_do: str) -> OrphanCheck:
    """A check that `--fix` only reports: what it finds needs a person, told `what_to_do`."""
    return OrphanCheck(name=name, find=find, fix=lambda qs: 0, fix_description=f"none: {what_to_do}")


CHECKS = [
    _reported_only(
        "payment_intents whose kind has no registered handler",
        _payments_of_unknown_kinds,
        "register the kind or investigate by hand (payments are never deleted)",
    ),
    OrphanCheck(
        name="payment_intents awaiting payment for more than 2 days (abandoned checkouts)",
        find=_abandoned_checkouts,
        fix=lambda qs: qs.update(status=PaymentStatus.CANCELED, status_changed_at=timezone.now()),
        fix_description="mark them canceled (Stripe expires Checkout Sessions after 24 hours)",
    ),
    _reported_only(
        "stripe_checks still open a day after the request (Stripe never answered)",
        _checks_open_for_a_day,
        "look the idempotency key up in the Stripe dashboard, then use "
        "'Check with Stripe now' or wait for the webhook (docs/billing.md)",
    ),
    OrphanCheck(
        name="open refund_requests on a payment that is not paid",
        find=_refunds_of_unpaid_payments,
        fix=lambda qs: qs.update(status=RefundStatus.DENIED, decision_note="The payment was not completed."),
        fix_description="deny them with a note",
    ),
    _reported_only(
        "refund_requests whose member is not the payment's member", _refunds_of_another_member, "investigate by hand"
    ),
    OrphanCheck(
        name="stripe_webhook_events that failed every attempt",
        find=_events_out_of_attempts,
        fix=lambda qs: qs.update(attempts=0),
        fix_description="reset their attempt count so the sweeper retries them",
    ),
]
