"""Billing's reads, asked directly: each is fenced to its member and lists what her pages show."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from billing import selectors
from billing.models import PaymentStatus, RefundStatus
from tests.factories.accounts import UserFactory
from tests.factories.billing import (
    PaymentIntentFactory,
    RefundRequestFactory,
    StripeCheckFactory,
    UserPaymentMethodFactory,
)

pytestmark = pytest.mark.django_db


def test_payment_list_is_hers_newest_first_without_checkouts_that_never_started():
    member = UserFactory()
    older = PaymentIntentFactory(user=member, paid=True)
    newer = PaymentIntentFactory(user=member, paid=True)
    PaymentIntentFactory(user=member, status=PaymentStatus.CANCELED, stripe_checkout_session_id=None)
    PaymentIntentFactory(paid=True)  # another member's
    older.created_at = timezone.now() - timedelta(days=2)
    older.save(update_fields=["created_at"])

    assert list(selectors.payment_list_for_member(member=member)) == [newer, older]


def test_payment_list_shows_a_charge_awaiting_stripes_answer_as_checking():
    member = UserFactory()
    waiting = StripeCheckFactory(payment__user=member, payment__status=PaymentStatus.PROCESSING).payment

    listed = list(selectors.payment_list_for_member(member=member))

    assert listed == [waiting]
    assert listed[0].checking is True


def test_payment_get_for_member_refuses_another_members_payment():
    member = UserFactory()
    hers = PaymentIntentFactory(user=member)
    theirs = PaymentIntentFactory()

    assert selectors.payment_get_for_member(member=member, payment_id=hers.pk) == hers
    with pytest.raises(Http404):
        selectors.payment_get_for_member(member=member, payment_id=theirs.pk)


def test_refunded_list_for_a_payment_is_oldest_first_and_only_the_refunded_ones():
    payment = PaymentIntentFactory(paid=True)
    now = timezone.now()
    later = RefundRequestFactory(payment=payment, status=RefundStatus.REFUNDED, refunded_at=now)
    first = RefundRequestFactory(
        payment=payment, status=RefundStatus.REFUNDED, refunded_at=now - timedelta(days=1), amount_requested=Decimal(5)
    )
    RefundRequestFactory(payment=payment, status=RefundStatus.REQUESTED)
    RefundRequestFactory(status=RefundStatus.REFUNDED, refunded_at=now)  # another payment's

    assert list(selectors.refund_list_refunded_for_payment(payment=payment)) == [first, later]


def test_open_refunds_leave_out_decided_ones():
    member = UserFactory()
    payment = PaymentIntentFactory(user=member, paid=True)
    asked = RefundRequestFactory(payment=payment, status=RefundStatus.REQUESTED)
    RefundRequestFactory(payment=payment, status=RefundStatus.DENIED)

    assert list(selectors.refund_open_list_for_member(member=member)) == [asked]


def test_cards_are_hers_default_first():
    member = UserFactory()
    spare = UserPaymentMethodFactory(user=member, is_default=False)
    default = UserPaymentMethodFactory(user=member, is_default=True)
    UserPaymentMethodFactory()  # another member's

    assert list(selectors.payment_method_list_for_member(member=member)) == [default, spare]
    with pytest.raises(Http404):
        selectors.payment_method_get_for_member(member=UserFactory(), payment_method_id=default.pk)
