"""The user_payment_summary view on factory data."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import PaymentStatus, RefundStatus, UserPaymentSummary
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory

pytestmark = pytest.mark.django_db


def test_two_paid_payments_and_one_refund():
    member = UserFactory()
    earlier = timezone.now() - timedelta(days=10)
    later = timezone.now() - timedelta(days=1)
    first = PaymentIntentFactory(user=member, paid=True, amount=Decimal("120.00"), paid_at=earlier)
    PaymentIntentFactory(
        user=member,
        paid=True,
        amount=Decimal("80.00"),
        amount_refunded=Decimal("30.00"),
        status=PaymentStatus.PARTIALLY_REFUNDED,
        paid_at=later,
    )
    RefundRequestFactory(
        payment=first.__class__.objects.exclude(pk=first.pk).get(user=member),
        user=member,
        amount_requested=Decimal("30.00"),
        amount_refunded=Decimal("30.00"),
        status=RefundStatus.REFUNDED,
    )
    RefundRequestFactory(payment=first, user=member, amount_requested=Decimal("10.00"))  # still open
    # Not counted: unpaid, failed and zero-amount payments; another member's payment.
    PaymentIntentFactory(user=member, amount=Decimal("55.00"))
    PaymentIntentFactory(user=member, amount=Decimal("55.00"), status=PaymentStatus.FAILED)
    PaymentIntentFactory(user=member, paid=True, amount=Decimal("0"))
    PaymentIntentFactory(paid=True, amount=Decimal("999.00"))

    row = UserPaymentSummary.objects.get(user=member)

    assert row.total_paid == Decimal("200.00")
    assert row.total_refunded == Decimal("30.00")
    assert row.net_paid == Decimal("170.00")
    assert row.payment_count == 2
    assert row.refund_count == 1
    assert row.open_refund_requests == 1
    assert row.disputed_count == 0
    assert row.first_payment_at == earlier
    assert row.last_payment_at == later


def test_member_without_payments_has_a_zero_row():
    member = UserFactory()
    row = UserPaymentSummary.objects.get(user=member)
    assert (row.total_paid, row.net_paid, row.payment_count, row.last_payment_at) == (
        Decimal("0"),
        Decimal("0"),
        0,
        None,
    )


def test_view_is_read_only():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'user_payment_summary'")
        assert cursor.fetchone() == ("v",)


def test_summary_follows_payments_and_refunds_made_through_webhooks(deliver, purchases):
    from tests.billing import stripe_fakes as sf

    member = UserFactory()
    first = PaymentIntentFactory(user=member, amount=Decimal("120.00"), stripe_charge_id="ch_sum_1")
    second = PaymentIntentFactory(user=member, amount=Decimal("80.00"), stripe_charge_id="ch_sum_2")
    for payment in (first, second):
        deliver(sf.event("checkout.session.completed", sf.checkout_session_obj(payment, pi_id=f"pi_sum_{payment.pk}")))
    second.refresh_from_db()
    refund = sf.refund_obj(second, amount=3000)
    deliver(sf.event("charge.refunded", sf.charge_obj(second, amount_refunded=3000, refunds=[refund])))

    row = UserPaymentSummary.objects.get(user=member)
    assert (row.total_paid, row.total_refunded, row.net_paid) == (
        Decimal("200.00"),
        Decimal("30.00"),
        Decimal("170.00"),
    )
    assert (row.payment_count, row.refund_count, row.open_refund_requests) == (2, 1, 0)
