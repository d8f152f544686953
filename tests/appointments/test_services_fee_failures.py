"""No-show and late-cancellation fees charged through billing, with Stripe failing at the HTTP boundary.

A refused card (402) fails the fee and tells the member in Bloom's words. Every other
failure (refused connection, no answer in time, 500, 429, 400, an unreadable answer) leaves
the fee "checking with Stripe": the member is told nothing has failed, the same request is
sent again with the same idempotency key until Stripe answers, and charging the fee again
meanwhile never makes a second payment or charge.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentPayment, PaymentKind
from appointments.services import appointment_fee_charge
from billing import tasks
from billing.models import PaymentIntent, PaymentStatus, StripeCheck
from bloom.exceptions import ApplicationError
from notifications.models import EmailQueue, UserNotification
from tests.billing.stripe_fakes import (
    UNKNOWN_FAILURES,
    assert_no_provider_text,
    queued_email_texts,
    running_fake_stripe,
    stripe_breaks,
    stripe_mends,
)
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.billing import BillingCustomerFactory, UserPaymentMethodFactory

pytestmark = pytest.mark.django_db

FEE = Decimal("75.00")


@pytest.fixture
def fake_stripe(settings):
    with running_fake_stripe(settings) as fake:
        yield fake


@pytest.fixture
def missed():
    """A session the member missed; they have a saved card."""
    appointment = AppointmentDataFactory(status="no_show")
    BillingCustomerFactory(user=appointment.user)
    UserPaymentMethodFactory(user=appointment.user)
    return appointment


def _charge(appointment):
    return appointment_fee_charge(appointment=appointment, kind=PaymentKind.NO_SHOW_FEE, amount=FEE)


def test_the_fee_is_charged_once_and_recorded(fake_stripe, missed):
    payment = _charge(missed)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.kind == "appointment_no_show_fee" and payment.object_id == str(missed.pk)
    row = AppointmentPayment.objects.get(appointment=missed)
    assert (row.kind, row.status, row.amount) == ("no_show_fee", "captured", FEE)
    with pytest.raises(ApplicationError, match="already has a no-show fee"):
        _charge(missed)
    assert len(fake_stripe.payment_intents) == 1


@pytest.mark.parametrize("decline_code", [None, "insufficient_funds"])
def test_a_refused_card_fails_the_fee_in_blooms_words(fake_stripe, settings, missed, decline_code):
    stripe_breaks(fake_stripe, settings, "402", path="/v1/payment_intents", decline_code=decline_code)
    payment = _charge(missed)

    assert payment.status == PaymentStatus.FAILED
    assert not AppointmentPayment.objects.exists()
    assert not StripeCheck.objects.exists()
    notice = UserNotification.objects.get(user=missed.user)
    mail = EmailQueue.objects.get(to_email=missed.user.email)
    assert notice.type == "payment_failed" and notice.message == payment.failure_message
    assert payment.failure_message in mail.text_body
    assert_no_provider_text(fake_stripe, notice.message, *queued_email_texts())


@pytest.mark.parametrize("failure", UNKNOWN_FAILURES)
def test_a_fee_without_an_answer_waits_checking_and_is_never_charged_twice(
    client, fake_stripe, settings, missed, failure
):
    stripe_breaks(fake_stripe, settings, failure, path="/v1/payment_intents")
    payment = _charge(missed)

    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    check = StripeCheck.objects.get(payment=payment)
    assert check.settled_at is None and check.idempotency_key == f"bloom-pi-{payment.pk}"
    assert not UserNotification.objects.filter(user=missed.user).exists()
    assert not EmailQueue.objects.filter(to_email=missed.user.email).exists()
    assert not AppointmentPayment.objects.exists()
    client.force_login(missed.user)
    page = client.get(reverse("billing:billing_home")).content.decode()
    assert "We're confirming this payment with our payment provider" in page
    assert "Failed" not in page
    assert_no_provider_text(fake_stripe, page, *queued_email_texts())

    again = _charge(missed)  # staff charge it again while Stripe is still failing
    assert again.pk == payment.pk
    assert PaymentIntent.objects.filter(kind="appointment_no_show_fee").count() == 1

    stripe_mends(fake_stripe, settings)
    StripeCheck.objects.filter(pk=check.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert tasks.stripe_check_run_task(str(check.pk)) == "answered"

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert AppointmentPayment.objects.get(appointment=missed).status == "captured"
    keys = {c.idempotency_key for c in fake_stripe.creates("/v1/payment_intents")}
    assert keys == {f"bloom-pi-{payment.pk}"}
    assert len(fake_stripe.payment_intents) == 1
    assert not UserNotification.objects.filter(user=missed.user, type="payment_failed").exists()


def test_after_a_timeout_where_stripe_did_charge_the_member_is_not_told_it_failed(fake_stripe, settings, missed):
    stripe_breaks(fake_stripe, settings, "timeout_after_processing", path="/v1/payment_intents")
    payment = _charge(missed)
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    assert len(fake_stripe.payment_intents) == 1  # Stripe charged the card

    stripe_mends(fake_stripe, settings)
    settled = _charge(missed)  # the staff retry: same row, same key, Stripe replays the charge

    assert settled.pk == payment.pk and settled.status == PaymentStatus.SUCCEEDED
    assert len(fake_stripe.payment_intents) == 1
    assert PaymentIntent.objects.count() == 1
    assert not UserNotification.objects.filter(user=missed.user, type="payment_failed").exists()


def test_fees_are_refused_without_a_member_or_for_a_session_fee(fake_stripe):
    with pytest.raises(ApplicationError, match="not linked to a member"):
        appointment_fee_charge(appointment=AppointmentDataFactory(user=None), kind=PaymentKind.NO_SHOW_FEE, amount=FEE)
    with pytest.raises(ApplicationError, match="Only a no-show or late-cancellation fee"):
        appointment_fee_charge(appointment=AppointmentDataFactory(), kind=PaymentKind.SESSION_FEE, amount=FEE)
    assert fake_stripe.calls == []
