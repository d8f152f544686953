"""'Register' on a paid workshop when Stripe fails: through the real views, Stripe failing at the HTTP boundary.

The seat is held for the payment only; when the checkout cannot start (refused connection,
no answer in time, 500, 429, 400, 402, an unreadable answer) the seat is released at once
(offered to the waitlist if anyone waits), the member reads Bloom's message on the workshop
page with "Register" to try again, and no payment is left awaiting payment.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import PaymentIntent
from billing.models import PaymentStatus as BillingStatus
from billing.services import PROVIDER_UNREACHABLE
from tests.billing.stripe_fakes import (
    FAILURES,
    assert_no_provider_text,
    queued_email_texts,
    running_fake_stripe,
    stripe_breaks,
    stripe_mends,
)
from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory
from workshops import selectors, services
from workshops.models import (
    PaymentStatus,
    RegistrationStatus,
    WaitlistStatus,
    WorkshopRegistration,
    WorkshopWaitlistEntry,
)

pytestmark = pytest.mark.django_db

MESSAGE = PROVIDER_UNREACHABLE.replace("'", "&#x27;")


@pytest.fixture
def fake_stripe(settings):
    with running_fake_stripe(settings) as fake:
        yield fake


@pytest.mark.parametrize("failure", FAILURES)
def test_register_with_stripe_failing_releases_the_seat_and_offers_a_retry(client, fake_stripe, settings, failure):
    workshop = WorkshopFactory(capacity=1, price=Decimal("40.00"))
    member = UserFactory()
    client.force_login(member)
    stripe_breaks(fake_stripe, settings, failure, path="/v1/checkout/sessions")

    response = client.post(reverse("workshops:workshop_register", args=[workshop.slug]), follow=True)

    detail = reverse("workshops:workshop_detail", args=[workshop.slug])
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith(detail)
    page = response.content.decode()
    assert MESSAGE in page
    assert "1 seat left." in page and "Register</button>" in page  # the seat is free again
    assert_no_provider_text(fake_stripe, page, *queued_email_texts())
    registration = WorkshopRegistration.objects.get(user=member, workshop=workshop)
    assert (registration.status, registration.payment_status) == (RegistrationStatus.CANCELLED, PaymentStatus.FAILED)
    assert selectors.workshop_seats_left(workshop=workshop) == 1
    payment = PaymentIntent.objects.get(user=member)
    assert payment.status == BillingStatus.CANCELED
    assert not PaymentIntent.objects.filter(status=BillingStatus.REQUIRES_PAYMENT).exists()

    stripe_mends(fake_stripe, settings)
    retry = client.post(reverse("workshops:workshop_register", args=[workshop.slug]))

    assert retry.status_code == 302 and retry["Location"].startswith("https://checkout.stripe.com/")
    held = WorkshopRegistration.objects.get(user=member, workshop=workshop, status=RegistrationStatus.REGISTERED)
    assert held.payment_status == PaymentStatus.PENDING
    assert PaymentIntent.objects.filter(user=member, status=BillingStatus.REQUIRES_PAYMENT).count() == 1


def test_paying_for_a_held_seat_with_stripe_down_gives_the_seat_to_the_waitlist(client, fake_stripe, settings):
    workshop = WorkshopFactory(capacity=1, price=Decimal("40.00"))
    member, waiting = UserFactory(), UserFactory()
    held = services.registration_create(member=member, workshop=workshop)
    queued = services.registration_create(member=waiting, workshop=workshop)
    assert queued.status == RegistrationStatus.WAITLISTED
    client.force_login(member)
    stripe_breaks(fake_stripe, settings, "refused")

    response = client.post(reverse("workshops:registration_pay", args=[held.pk]), follow=True)

    assert response.status_code == 200 and MESSAGE in response.content.decode()
    held.refresh_from_db()
    assert held.status == RegistrationStatus.CANCELLED
    assert WorkshopWaitlistEntry.objects.get(registration=queued).status == WaitlistStatus.OFFERED
    assert not PaymentIntent.objects.filter(status=BillingStatus.REQUIRES_PAYMENT).exists()
