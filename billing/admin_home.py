"""billing's cards on the admin home (bloom/admin_home.py): refunds, disputes, Stripe's webhook events."""

from __future__ import annotations

from django.db.models import Q

from bloom.admin_home import Card, counted_lines, webhook_card

from . import webhooks
from .models import PaymentIntent, RefundRequest, RefundStatus

# A dispute is open from Stripe's `charge.dispute.created` until `closed` records its outcome
# (billing.services.payment_dispute_closed keeps the flag and adds metadata["dispute_status"]).
OPEN_DISPUTE = Q(disputed=True) & ~Q(metadata__has_key="dispute_status")


def _refund_lines(request):
    requested, failed = RefundStatus.REQUESTED, RefundStatus.FAILED
    return counted_lines(
        RefundRequest.objects.filter(status__in=[requested, failed]),
        [
            (Q(status=requested), "{n} waiting for a decision", {"status__exact": requested}),
            (Q(status=failed), "{n} failed at Stripe", {"status__exact": failed}),
        ],
    )


def _dispute_lines(request):
    label = "{n} disputed payments waiting for Stripe's outcome"
    return counted_lines(PaymentIntent.objects.filter(disputed=True), [(OPEN_DISPUTE, label, {"open_dispute": "yes"})])


CARDS = [
    Card("refunds", "Refund requests", "billing.view_refundrequest", _refund_lines, order=20),
    Card("disputes", "Disputes", "billing.view_paymentintent", _dispute_lines, order=30),
    webhook_card(webhooks.PROVIDER, order=70),
]
