"""A real Celery worker killed (SIGKILL) while Stripe is placing a hold: after a restart the
hold is settled under the same key — one appointment_payments row, one PaymentIntent at Stripe."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from appointments import tasks
from appointments.models import AppointmentPayment, PaymentStatus
from billing.models import PaymentIntent
from tests.billing.stripe_fakes import running_fake_stripe
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.appointments import BookingPolicyAcceptanceFactory, TherapistProfileFactory
from tests.factories.billing import BillingCustomerFactory, UserPaymentMethodFactory
from tests.waiting import wait_until

from .support_money import SESSION_FEE, booked, pi_creates

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_stripe(monkeypatch, settings):
    """A fake Stripe the worker subprocess reaches (its settings read BLOOM_TEST_STRIPE_API_BASE)."""
    with running_fake_stripe(settings) as fake:
        monkeypatch.setenv("BLOOM_TEST_STRIPE_API_BASE", fake.url)
        yield fake


def test_a_worker_killed_mid_hold_never_holds_twice(worker_stripe, request):
    fake = worker_stripe
    member = UserFactory()
    BillingCustomerFactory(user=member)
    UserPaymentMethodFactory(user=member)
    therapist = TherapistProfileFactory(user=StaffUserFactory(), session_fee=SESSION_FEE)
    policy = BookingPolicyAcceptanceFactory(user=member, therapist=therapist, session_fee=SESSION_FEE)
    appointment = booked(member=member, therapist=therapist, policy=policy, starts_in=timedelta(days=1))
    # Stripe acts on the hold, then its answer never comes: the worker is killed while waiting.
    fake.hang_seconds = 60
    fake.fail("timeout_after_processing", path="/v1/payment_intents", times=1)
    worker = request.getfixturevalue("celery_worker_process")

    tasks.appointment_money_step_task.delay("place", str(appointment.pk), None)
    wait_until(lambda: len(fake.payment_intents) == 1, timeout=60, what="Stripe to receive the hold")
    worker.kill(signal.SIGKILL)

    row = AppointmentPayment.objects.get()
    assert row.status == PaymentStatus.CHECKING  # Bloom never heard what Stripe did

    worker.start()
    tasks.appointment_holds_sweep_task.delay()
    wait_until(
        lambda: AppointmentPayment.objects.filter(pk=row.pk, status=PaymentStatus.AUTHORIZED).exists(),
        timeout=60,
        what="the restarted worker's sweep to settle the hold",
    )
    assert AppointmentPayment.objects.count() == 1 and PaymentIntent.objects.count() == 1
    assert {c.idempotency_key for c in pi_creates(fake)} == {f"appt-{appointment.pk}-hold-1"}
    assert len(fake.payment_intents) == 1
