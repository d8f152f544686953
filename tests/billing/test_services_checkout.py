from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import PaymentIntent, PaymentStatus
from bloom.exceptions import ApplicationError
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory

pytestmark = pytest.mark.django_db


def _start(member, amount="120.00", **kwargs):
    return services.checkout_start(
        kind="test_purchase",
        object_id="course-1",
        member=member,
        amount=Decimal(amount),
        description="Calm Mama course",
        success_url="http://testserver/courses/calm-mama/",
        cancel_url="http://testserver/courses/",
        **kwargs,
    )


def test_checkout_start_creates_session_and_payment_without_fulfilling(fake_stripe, purchases):
    member = UserFactory()
    start = _start(member, metadata={"discount_code": "SPRING"})

    payment = PaymentIntent.objects.get()
    assert start.payment == payment
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    assert (payment.kind, payment.object_id, payment.amount, payment.user) == (
        "test_purchase",
        "course-1",
        Decimal("120.00"),
        member,
    )
    assert start.redirect_url.startswith("https://checkout.stripe.com/")
    [call] = fake_stripe.creates("/v1/checkout/sessions")
    assert call.idempotency_key == f"bloom-checkout-{payment.pk}"
    assert call.params["mode"] == "payment"
    assert call.params["line_items[0][price_data][unit_amount]"] == "12000"
    assert call.params["metadata[bloom_payment_id]"] == str(payment.pk)
    assert call.params["metadata[bloom_kind]"] == "test_purchase"
    assert call.params["metadata[bloom_object_id]"] == "course-1"
    assert call.params["payment_intent_data[metadata][bloom_payment_id]"] == str(payment.pk)
    assert call.params["metadata[discount_code]"] == "SPRING"
    assert reverse("billing:checkout_return", args=[payment.pk]) in call.params["success_url"]
    assert payment.stripe_checkout_session_id.startswith("cs_test_")
    assert purchases.paid == []


def test_zero_amount_completes_without_stripe(fake_stripe, purchases):
    member = UserFactory()
    start = _start(member, amount="0", discount_amount=Decimal("120.00"))

    assert start.payment.status == PaymentStatus.SUCCEEDED
    assert start.redirect_url == "http://testserver/courses/calm-mama/"
    assert purchases.paid == [start.payment.pk]
    assert fake_stripe.calls == []


def test_checkout_refuses_unregistered_kind_and_negative_amounts(fake_stripe, purchases):
    member = UserFactory()
    with pytest.raises(ApplicationError):
        services.checkout_start(
            kind="nope",
            object_id="1",
            member=member,
            amount=Decimal("1"),
            description="x",
            success_url="/",
            cancel_url="/",
        )
    with pytest.raises(ApplicationError):
        _start(member, amount="-1")
    assert not PaymentIntent.objects.exists()
    assert fake_stripe.calls == []


def test_payment_mark_succeeded_calls_on_paid_once(purchases):
    payment = PaymentIntentFactory()
    first = services.payment_mark_succeeded(payment=payment)
    second = services.payment_mark_succeeded(payment=payment)

    assert first.status == second.status == PaymentStatus.SUCCEEDED
    assert first.paid_at is not None
    assert purchases.paid == [payment.pk]


def test_return_page_shows_processing_until_paid_and_is_fenced(client, purchases):
    payment = PaymentIntentFactory(metadata={"success_url": "http://testserver/courses/x/"})
    client.force_login(payment.user)
    url = reverse("billing:checkout_return", args=[payment.pk])

    response = client.get(url)
    assert b"Payment processing" in response.content
    # It asks again by itself (a static script, no meta refresh) and offers a link that works without JS.
    assert b'http-equiv="refresh"' not in response.content
    assert f'data-payment-poll="{url}"'.encode() in response.content
    assert b"js/payment-poll.js" in response.content
    assert f'<a class="button button-secondary" href="{url}">Check again</a>'.encode() in response.content
    assert purchases.paid == []  # visiting the success page never fulfils

    services.payment_mark_succeeded(payment=payment)
    response = client.get(url)
    assert b"Payment received" in response.content
    assert b"http://testserver/courses/x/" in response.content

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
