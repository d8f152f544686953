"""Fixtures and helpers for the booking-gate tests (find a therapist, card, policy, estimate)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.billing.stripe_fakes import running_fake_stripe
from tests.factories.appointments import TherapistAvailabilityFactory, TherapistProfileFactory
from tests.factories.billing import BillingCustomerFactory, UserPaymentMethodFactory


@pytest.fixture
def fake_stripe(settings):
    with running_fake_stripe(settings) as fake:
        yield fake


def bookable_therapist():
    """A therapist accepting clients, with fees, a 48-hour window and usual hours on Tuesdays."""
    therapist = TherapistProfileFactory(
        display_name="Dr. Ada Hart",
        scheduling_url="https://calendly.com/ada-hart/session",
        session_fee=Decimal("175.00"),
        session_minutes=50,
        cancellation_window_hours=48,
        no_show_fee=Decimal("90.00"),
        late_cancel_fee=Decimal("60.00"),
        npi="1234567893",
        who_i_help="New parents in the first year, and anyone grieving a pregnancy.",
        timezone="America/Los_Angeles",
    )
    TherapistAvailabilityFactory(
        therapist=therapist, weekday=1, start_time=time(9), end_time=time(13), timezone="America/Los_Angeles"
    )
    return therapist


@pytest.fixture
def bookable(db):
    return bookable_therapist()


def with_card(member):
    """Give `member` a Stripe customer and a saved default card (as billing's webhook would)."""
    BillingCustomerFactory(user=member)
    return UserPaymentMethodFactory(user=member, is_default=True)


def book_url(therapist, name: str = "book") -> str:
    return reverse(f"appointments:{name}", kwargs={"therapist_id": therapist.pk})


def seen(therapist) -> str:
    """The fingerprint of the policy page as it would be shown now."""
    from appointments.booking import policy_terms

    return policy_terms(therapist=therapist).fingerprint


def accept(client, therapist, *, terms_seen: str | None = None, **extra):
    terms_seen = seen(therapist) if terms_seen is None else terms_seen
    return client.post(book_url(therapist), {"accept": "on", "terms": terms_seen}, **extra)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)
