"""Payments through billing's services leave the right trail in the event ledger (docs/ledger.md)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services
from bloom.ledger import LedgerEvent, ledger_drift_list
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory
from tests.ledger import events_of

pytestmark = pytest.mark.django_db


def test_success_then_partial_and_full_refund_are_events_with_money(purchases, fake_stripe):
    payment = PaymentIntentFactory(amount=Decimal("100.00"))

    services.payment_mark_succeeded(payment=payment)
    services.payment_mark_succeeded(payment=payment)  # a second webhook changes nothing: no event
    services.payment_refund_apply(payment=payment, total_refunded=Decimal("40.00"))
    services.payment_refund_apply(payment=payment, total_refunded=Decimal("100.00"))

    assert events_of(payment) == [
        ("created", None, "requires_payment"),
        ("changed", "requires_payment", "succeeded"),
        ("changed", "succeeded", "partially_refunded"),
        ("changed", "partially_refunded", "refunded"),
    ]
    refunded = list(
        LedgerEvent.objects.filter(entity_id=payment.pk).order_by("id").values_list("amount", "amount_refunded")
    )
    assert refunded[1:] == [
        (Decimal("100.00"), Decimal("0.00")),
        (Decimal("100.00"), Decimal("40.00")),
        (Decimal("100.00"), Decimal("100.00")),
    ]
    assert ledger_drift_list() == []


def test_failure_is_an_event_and_a_stale_update_is_not(purchases):
    payment = PaymentIntentFactory()
    now = timezone.now()

    assert services.payment_status_apply(payment=payment, status="failed", at=now, failure_message="Declined")
    assert not services.payment_status_apply(payment=payment, status="processing", at=now)  # older rank: ignored

    assert events_of(payment) == [("created", None, "requires_payment"), ("changed", "requires_payment", "failed")]
    assert purchases.failed == [payment.pk]


def test_a_refund_request_records_its_decision_and_outcome(fake_stripe, purchases):
    staff = UserFactory(is_staff=True, is_superuser=True)
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("30"), reason="x")

    services.refund_approve(refund=request, staff=staff)

    assert events_of(request) == [
        ("created", None, "requested"),
        ("changed", "requested", "approved"),
        ("changed", "approved", "processing"),
        ("changed", "processing", "refunded"),
    ]
    assert events_of(payment)[-1] == ("changed", "succeeded", "partially_refunded")
    assert LedgerEvent.objects.filter(entity_id=request.pk).last().amount_refunded == Decimal("30.00")
