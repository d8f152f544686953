"""Data retention for billing (docs/adr/0081, 0350; defaults in docs/operations.md "Retention").

Processed Stripe deliveries go after BLOOM_RETENTION_DAYS["webhook_events"]. Payments and
refunds are tax records: the rows, amounts, dates and Stripe ids stay; after
BLOOM_RETENTION_DAYS["payments"] (7 years) the free text in them (her reason for a refund,
staff notes, failure messages) is emptied. A payment being processed or disputed, or an open
refund, holds the member's rows (HOLDS).
"""

from django.db.models import Q

from bloom.retention import RetentionHold, RetentionPolicy, redact_rows, webhook_events_policy

from .models import OPEN_REFUND_STATUSES, PaymentIntent, PaymentStatus, RefundRequest, StripeWebhookEvent

IN_FLIGHT = [PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_CAPTURE]

POLICIES = [
    webhook_events_policy(StripeWebhookEvent),
    RetentionPolicy(
        name="payment_intents failure messages older than the limit",
        setting="payments",
        find=lambda cutoff: (
            PaymentIntent.objects.filter(created_at__lt=cutoff)
            .exclude(failure_message="")
            .exclude(status__in=IN_FLIGHT)
        ),
        apply=redact_rows(failure_message=""),
        action="empty failure message",
        member="user",
    ),
    RetentionPolicy(
        name="refund_requests free text older than the limit",
        setting="payments",
        find=lambda cutoff: RefundRequest.objects.filter(
            ~Q(reason="") | ~Q(decision_note="") | ~Q(failure_message=""), created_at__lt=cutoff
        ).exclude(status__in=OPEN_REFUND_STATUSES),
        apply=redact_rows(reason="", decision_note="", failure_message=""),
        action="empty reason, decision note and failure message",
        member="user",
    ),
]

HOLDS = [
    RetentionHold(
        name="payment in progress or disputed",
        users=lambda now: PaymentIntent.objects.filter(Q(status__in=IN_FLIGHT) | Q(disputed=True)).values("user_id"),
    ),
    RetentionHold(
        name="open refund request",
        users=lambda now: RefundRequest.objects.filter(status__in=OPEN_REFUND_STATUSES).values("user_id"),
    ),
]
