"""Saved cards and authorise-then-capture against the fake Stripe API."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services
from billing.models import PaymentIntent, PaymentStatus
from bloom.exceptions import ApplicationError
from notifications.models import EmailQueue, UserNotification
from tests.billing import stripe_fakes as sf
from tests.factories.billing import BillingCustomerFactory, UserPaymentMethodFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_with_card():
    customer = BillingCustomerFactory()
    card = UserPaymentMethodFactory(user=customer.user)
    return customer.user, card


def _authorize(member, days_ahead=2, amount="150.00"):
    return services.payment_authorize(
        member=member,
        kind="test_purchase",
        object_id="appt-1",
        amount=Decimal(amount),
        charge_date=timezone.now() + timedelta(days=days_ahead),
        description="Therapy session",
    )


def test_authorize_holds_on_default_card(fake_stripe, purchases, member_with_card):
    member, card = member_with_card
    payment = _authorize(member)

    assert payment.status == PaymentStatus.REQUIRES_CAPTURE
    assert payment.capture_method == "manual"
    [call] = fake_stripe.creates("/v1/payment_intents")
    assert call.params["capture_method"] == "manual"
    assert call.params["off_session"] == "true" and call.params["confirm"] == "true"
    assert call.params["payment_method"] == card.stripe_payment_method_id
    assert call.params["amount"] == "15000"
    assert call.idempotency_key == f"bloom-pi-{payment.pk}"
    assert purchases.paid == []


def test_authorize_refuses_more_than_six_days_ahead(fake_stripe, purchases, member_with_card):
    member, _card = member_with_card
    with pytest.raises(ApplicationError, match="6 days"):
        _authorize(member, days_ahead=8)
    assert fake_stripe.calls == []
    assert not PaymentIntent.objects.exists()


def test_authorize_without_a_saved_card_is_refused(fake_stripe, purchases):
    customer = BillingCustomerFactory()
    with pytest.raises(ApplicationError, match="no saved card"):
        _authorize(customer.user)
    assert fake_stripe.calls == []


def test_full_capture_pays_once(fake_stripe, purchases, member_with_card):
    member, _card = member_with_card
    payment = _authorize(member)
    captured = services.payment_capture(payment=payment)
    again = services.payment_capture(payment=payment)

    assert captured.status == again.status == PaymentStatus.SUCCEEDED
    assert captured.amount == Decimal("150.00")
    assert not UserNotification.objects.filter(user=member).exists()
    assert len(fake_stripe.creates(f"/v1/payment_intents/{payment.stripe_payment_intent_id}/capture")) == 1
    assert purchases.paid == [payment.pk]


def test_partial_capture_records_the_captured_amount(fake_stripe, purchases, member_with_card):
    member, _card = member_with_card
    payment = _authorize(member)
    captured = services.payment_capture(payment=payment, amount=Decimal("50.00"))

    [call] = fake_stripe.creates(f"/v1/payment_intents/{payment.stripe_payment_intent_id}/capture")
    assert call.params["amount_to_capture"] == "5000"
    assert captured.amount == Decimal("50.00")
    assert captured.metadata["authorized_amount"] == "150.00"
    with pytest.raises(ApplicationError):
        services.payment_capture(payment=_authorize(member), amount=Decimal("151.00"))


def test_release_cancels_without_calling_on_failed(fake_stripe, purchases, member_with_card):
    member, _card = member_with_card
    payment = _authorize(member)
    released = services.payment_release(payment=payment)

    assert released.status == PaymentStatus.CANCELED
    assert len(fake_stripe.creates(f"/v1/payment_intents/{payment.stripe_payment_intent_id}/cancel")) == 1
    assert purchases.failed == []
    with pytest.raises(ApplicationError):
        services.payment_capture(payment=released)


def test_fee_charged_off_session(fake_stripe, purchases, member_with_card):
    member, _card = member_with_card
    payment = services.payment_charge_off_session(
        member=member, kind="test_purchase", object_id="appt-9", amount=Decimal("75.00"), description="No-show fee"
    )

    assert payment.status == PaymentStatus.SUCCEEDED
    [call] = fake_stripe.creates("/v1/payment_intents")
    assert call.params["capture_method"] == "automatic"
    assert purchases.paid == [payment.pk]


def test_card_needing_authentication_asks_the_member(fake_stripe, purchases, member_with_card, client):
    member, _card = member_with_card
    fake_stripe.next_payment_intent_error = "authentication_required"
    payment = _authorize(member)

    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    assert payment.needs_action is True
    assert payment.stripe_payment_intent_id
    assert purchases.paid == purchases.failed == []
    notice = UserNotification.objects.get(user=member)
    assert notice.type == "payment_action_required"
    assert notice.data["url"].endswith(f"/billing/payments/{payment.pk}/complete/")
    email = EmailQueue.objects.get(to_email=member.email)
    assert f"/billing/payments/{payment.pk}/complete/" in email.text_body
    client.force_login(member)
    page = client.get(f"/billing/payments/{payment.pk}/complete/")
    assert page.status_code == 200
    assert b"pi_secret_" in page.content  # the client secret for Stripe.js


def test_declined_card_fails_and_calls_on_failed(fake_stripe, purchases, member_with_card):
    member, _card = member_with_card
    fake_stripe.next_payment_intent_error = "card_declined"
    payment = services.payment_charge_off_session(
        member=member, kind="test_purchase", object_id="appt-9", amount=Decimal("75.00"), description="No-show fee"
    )

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == services.CARD_DECLINED_MESSAGE
    assert purchases.failed == [payment.pk]
    assert purchases.paid == []
    assert UserNotification.objects.get(user=member).type == "payment_failed"


def test_capture_webhook_after_capture_changes_nothing(fake_stripe, purchases, member_with_card, deliver):
    member, _card = member_with_card
    payment = services.payment_capture(payment=_authorize(member))
    deliver(sf.event("payment_intent.succeeded", sf.payment_intent_obj(payment, status="succeeded")))

    assert purchases.paid == [payment.pk]


def test_every_create_sent_to_stripe_carries_an_idempotency_key(fake_stripe, purchases, settings):
    from tests.factories.accounts import UserFactory

    member = UserFactory()
    services.card_setup_start(member=member)  # customer + setup intent
    UserPaymentMethodFactory(user=member)
    services.checkout_start(
        kind="test_purchase",
        object_id="c1",
        member=member,
        amount=Decimal("20.00"),
        description="Course",
        success_url="http://testserver/ok/",
        cancel_url="http://testserver/no/",
    )
    held = _authorize(member)
    services.payment_capture(payment=held, amount=Decimal("100.00"))
    services.payment_release(payment=_authorize(member))
    fee = services.payment_charge_off_session(
        member=member, kind="test_purchase", object_id="f", amount=Decimal("30.00"), description="Fee"
    )
    staff = UserFactory(is_staff=True)
    request = services.refund_request_create(member=member, payment=fee, amount=Decimal("10"), reason="x")
    services.refund_approve(refund=request, staff=staff)

    creates = [c for c in fake_stripe.calls if c.method == "POST" and not c.path.endswith("/detach")]
    paths = {c.path.split("/")[2] for c in creates}
    assert {"customers", "setup_intents", "checkout", "payment_intents", "refunds"} <= paths
    assert all(c.idempotency_key for c in creates), [c.path for c in creates if not c.idempotency_key]
    assert len({c.idempotency_key for c in creates}) == len(creates)
