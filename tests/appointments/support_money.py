"""Fixtures and helpers for the money flow: fake Stripe at the HTTP boundary, a member with a
saved card and an accepted policy, Calendly events processed the way the worker does.

Import the fixtures into a test module with `from .support_money import *  # noqa: F403`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.models import AppointmentPayment, CalendlyWebhookEvent
from appointments.webhooks import PROVIDER as calendly
from bloom.celery import app
from tests.billing.stripe_fakes import running_fake_stripe
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.appointments import (
    AppointmentDataFactory,
    BookingPolicyAcceptanceFactory,
    TherapistProfileFactory,
)
from tests.factories.billing import BillingCustomerFactory, UserPaymentMethodFactory

from .conftest import calendly_body

SESSION_FEE = Decimal("150.00")
NO_SHOW_FEE = Decimal("60.00")
LATE_CANCEL_FEE = Decimal("45.00")
HOST_URI = "https://api.calendly.com/users/MONEYHOST"


@pytest.fixture
def fake_stripe(settings):
    with running_fake_stripe(settings) as fake:
        yield fake


@pytest.fixture
def eager_tasks():
    """Tasks queued on commit run at once, in this process (the worker's code path)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def clinician(db):
    return StaffUserFactory(email="clinician@bloom.test")


@pytest.fixture
def money_therapist(clinician):
    return TherapistProfileFactory(
        user=clinician,
        calendly_user_uri=HOST_URI,
        display_name="Dr. June Reyes",
        session_fee=SESSION_FEE,
        # The therapist's fees today differ from what the member accepted (see `policy`).
        no_show_fee=Decimal("999.00"),
        late_cancel_fee=Decimal("999.00"),
        cancellation_window_hours=24,
    )


@pytest.fixture
def carded_member(db):
    member = UserFactory(email="maya@example.com")
    BillingCustomerFactory(user=member)
    UserPaymentMethodFactory(user=member)
    return member


@pytest.fixture
def policy(carded_member, money_therapist):
    return BookingPolicyAcceptanceFactory(
        user=carded_member,
        therapist=money_therapist,
        window_hours=24,
        session_fee=SESSION_FEE,
        no_show_fee=NO_SHOW_FEE,
        late_cancel_fee=LATE_CANCEL_FEE,
    )


def booked(*, member, therapist, policy=None, starts_in=timedelta(days=2), **fields):
    return AppointmentDataFactory(
        user=member,
        therapist=therapist,
        policy_acceptance=policy,
        starts_at=(timezone.now() + starts_in).replace(microsecond=0),
        **fields,
    )


def money_body(**kwargs) -> dict:
    """A Calendly body for the money therapist (`calendly_body` with its host)."""
    kwargs.setdefault("host_uri", HOST_URI)
    return calendly_body(**kwargs)


def process(body: dict, django_capture_on_commit_callbacks) -> str:
    """Store and apply one delivery like the worker, then run what it queued after commit."""
    with django_capture_on_commit_callbacks(execute=False):  # the test processes it itself
        event_id = calendly.store_payload(body)
    event = CalendlyWebhookEvent.objects.get(pk=event_id)
    with django_capture_on_commit_callbacks(execute=True):
        return calendly.process(event_id=str(event.pk))


def rows(appointment) -> list[tuple[str, str]]:
    return list(
        AppointmentPayment.objects.filter(appointment=appointment).order_by("created_at").values_list("kind", "status")
    )


def pi_creates(fake) -> list:
    return [c for c in fake.creates("/v1/payment_intents") if c.path == "/v1/payment_intents"]
