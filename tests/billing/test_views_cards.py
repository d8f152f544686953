"""A member saves a card (Stripe Elements + webhook), sees it, makes it default and removes it."""

import pytest
from django.urls import reverse

from billing.models import BillingCustomer, UserPaymentMethod
from tests.billing import stripe_fakes as sf
from tests.factories.accounts import UserFactory
from tests.factories.billing import UserPaymentMethodFactory

pytestmark = pytest.mark.django_db


def test_member_saves_sees_and_removes_a_card(client, fake_stripe, deliver):
    member = UserFactory()
    client.force_login(member)

    page = client.get(reverse("billing:card_add"))
    assert page.status_code == 200
    customer = BillingCustomer.objects.get(user=member)
    [setup_call] = fake_stripe.creates("/v1/setup_intents")
    assert setup_call.params["customer"] == customer.stripe_customer_id
    assert setup_call.params["usage"] == "off_session"
    assert setup_call.idempotency_key
    assert b"_secret_" in page.content and b"pk_test" in page.content

    # Stripe.js confirms the SetupIntent in the browser; Stripe then sends the webhooks.
    pm = sf.payment_method_obj(customer=customer.stripe_customer_id, last4="4444")
    deliver(
        sf.event("setup_intent.succeeded", sf.setup_intent_obj(customer=customer.stripe_customer_id, pm_id=pm["id"]))
    )
    deliver(sf.event("payment_method.attached", pm))

    home = client.get(reverse("billing:billing_home"))
    assert b"ending 4444" in home.content
    card = UserPaymentMethod.active.get(user=member)
    assert card.is_default

    # Visiting the add page again reuses the customer.
    client.get(reverse("billing:card_add"))
    assert len(fake_stripe.creates("/v1/customers")) == 1

    response = client.post(reverse("billing:card_remove", args=[card.pk]))
    assert response.status_code == 302
    assert len(fake_stripe.creates(f"/v1/payment_methods/{pm['id']}/detach")) == 1
    assert not UserPaymentMethod.active.filter(user=member).exists()
    assert b"ending 4444" not in client.get(reverse("billing:billing_home")).content


def test_make_default_switches_the_default(client):
    member = UserFactory()
    first = UserPaymentMethodFactory(user=member, is_default=True)
    second = UserPaymentMethodFactory(user=member, is_default=False, last4="1111")
    client.force_login(member)

    client.post(reverse("billing:card_make_default", args=[second.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_another_members_card_is_404_and_untouched(client, fake_stripe):
    card = UserPaymentMethodFactory()
    client.force_login(UserFactory())

    assert client.post(reverse("billing:card_remove", args=[card.pk])).status_code == 404
    assert client.post(reverse("billing:card_make_default", args=[card.pk])).status_code == 404
    assert fake_stripe.calls == []
    assert UserPaymentMethod.active.filter(pk=card.pk).exists()
