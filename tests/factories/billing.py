"""Factories for billing models (valid related rows by default)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from billing.models import (
    BillingCustomer,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundStatus,
    StripeCheck,
    StripeCheckOperation,
    StripeWebhookEvent,
    UserPaymentMethod,
)
from tests.factories.accounts import UserFactory


class PaymentIntentFactory(factory.django.DjangoModelFactory):
    """A payment awaiting payment; `PaymentIntentFactory(paid=True)` is a succeeded card payment."""

    class Meta:
        model = PaymentIntent

    class Params:
        paid = factory.Trait(
            status=PaymentStatus.SUCCEEDED,
            paid_at=factory.LazyFunction(timezone.now),
            stripe_payment_intent_id=factory.LazyFunction(lambda: f"pi_{uuid.uuid4().hex[:24]}"),
            stripe_charge_id=factory.LazyFunction(lambda: f"ch_{uuid.uuid4().hex[:24]}"),
        )

    user = factory.SubFactory(UserFactory)
    kind = "test_purchase"
    object_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    description = "Test purchase"
    amount = Decimal("100.00")
    currency = "usd"
    stripe_checkout_session_id = factory.LazyFunction(lambda: f"cs_test_{uuid.uuid4().hex[:24]}")


class RefundRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RefundRequest

    payment = factory.SubFactory(PaymentIntentFactory, paid=True)
    user = factory.SelfAttribute("payment.user")
    amount_requested = Decimal("40.00")
    currency = "usd"
    reason = "I could not attend."
    status = RefundStatus.REQUESTED


class StripeCheckFactory(factory.django.DjangoModelFactory):
    """An open check on an off-session charge whose first request got no answer."""

    class Meta:
        model = StripeCheck

    payment = factory.SubFactory(PaymentIntentFactory, stripe_checkout_session_id=None)
    operation = StripeCheckOperation.PAYMENT_CREATE
    idempotency_key = factory.LazyAttribute(lambda check: f"bloom-pi-{check.payment.pk}")
    params = factory.LazyAttribute(lambda check: {"amount": 10000, "currency": "usd"})
    last_error = "The request timed out."
    next_attempt_at = factory.LazyFunction(lambda: timezone.now() + timedelta(seconds=30))


class BillingCustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingCustomer

    user = factory.SubFactory(UserFactory)
    stripe_customer_id = factory.LazyFunction(lambda: f"cus_{uuid.uuid4().hex[:14]}")


class UserPaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserPaymentMethod

    user = factory.SubFactory(UserFactory)
    stripe_payment_method_id = factory.LazyFunction(lambda: f"pm_{uuid.uuid4().hex[:24]}")
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2030
    is_default = True


class StripeWebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeWebhookEvent

    stripe_event_id = factory.LazyFunction(lambda: f"evt_{uuid.uuid4().hex[:24]}")
    event_type = "customer.created"
    event_data = factory.LazyAttribute(
        lambda o: {"id": o.stripe_event_id, "object": "event", "type": o.event_type, "data": {"object": {}}}
    )
