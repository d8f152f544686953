"""Session-fee holds: authorised inside the card window, captured, released, with Stripe failing
at the HTTP boundary; one appointment_payments row and one Stripe PaymentIntent per key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from appointments import holds
from appointments.models import AppointmentPayment, AppointmentStatus, PaymentStatus
from billing.models import PaymentIntent, StripeCheck
from billing.services import cards
from notifications.models import EmailQueue, UserNotification
from tests.billing.stripe_fakes import (
    UNKNOWN_FAILURES,
    assert_no_provider_text,
    queued_email_texts,
    stripe_breaks,
    stripe_mends,
)
from tests.factories.accounts import UserFactory

from .support_money import *  # noqa: F403
from .support_money import SESSION_FEE, booked, pi_creates

pytestmark = pytest.mark.django_db


@pytest.fixture
def upcoming(carded_member, money_therapist, policy):
    return booked(member=carded_member, therapist=money_therapist, policy=policy)


def test_a_hold_is_placed_once_under_a_key_from_blooms_ids(fake_stripe, upcoming):
    row = holds.appointment_hold_place(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.AUTHORIZED and row.amount == SESSION_FEE
    assert row.idempotency_key == f"appt-{upcoming.pk}-hold-1"
    assert row.payment.status == "requires_capture" and row.authorized_at is not None
    [call] = pi_creates(fake_stripe)
    assert call.idempotency_key == row.idempotency_key
    assert call.params["capture_method"] == "manual"

    again = holds.appointment_hold_place(appointment_id=upcoming.pk)
    assert again.pk == row.pk
    assert len(pi_creates(fake_stripe)) == 1
    assert AppointmentPayment.objects.count() == 1


def test_no_hold_earlier_than_six_days_before_the_session(fake_stripe, carded_member, money_therapist, policy):
    later = booked(member=carded_member, therapist=money_therapist, policy=policy, starts_in=timedelta(days=8))

    assert holds.appointment_hold_place(appointment_id=later.pk) is None
    assert holds.appointment_holds_sweep()["held"] == 0
    assert not pi_creates(fake_stripe) and not AppointmentPayment.objects.exists()

    # Inside the window (as if two days had passed), the sweep holds it.
    type(later).objects.filter(pk=later.pk).update(
        starts_at=later.starts_at - timedelta(days=2, minutes=1), ends_at=later.ends_at - timedelta(days=2, minutes=1)
    )
    assert holds.appointment_holds_sweep()["held"] == 1
    assert AppointmentPayment.objects.get().status == PaymentStatus.AUTHORIZED


def test_no_hold_without_a_member_fee_or_schedule(fake_stripe, money_therapist):
    cancelled = booked(member=UserFactory(), therapist=money_therapist, status=AppointmentStatus.CANCELLED)
    guest = booked(member=None, therapist=money_therapist)
    for appointment in (cancelled, guest):
        assert holds.appointment_hold_place(appointment_id=appointment.pk) is None
    assert not pi_creates(fake_stripe)


def test_no_saved_card_is_recorded_for_staff_without_calling_stripe(fake_stripe, money_therapist):
    appointment = booked(member=UserFactory(), therapist=money_therapist)

    row = holds.appointment_hold_place(appointment_id=appointment.pk)

    assert row.status == PaymentStatus.FAILED
    assert "no saved card" in row.failure_message
    assert not pi_creates(fake_stripe)
    notice = UserNotification.objects.get(user=appointment.user, type="appointment_card_needed")
    assert "still booked" in notice.message and "nothing was charged" in notice.message
    # The sweep does not keep trying (and writing rows or notices) every 15 minutes.
    holds.appointment_holds_sweep()
    assert AppointmentPayment.objects.count() == 1
    assert UserNotification.objects.filter(type="appointment_card_needed").count() == 1


def test_a_card_saved_after_a_failed_hold_is_tried_once_by_the_sweep(fake_stripe, money_therapist):
    from billing import services as billing_services
    from tests.factories.billing import BillingCustomerFactory

    member = UserFactory()
    appointment = booked(member=member, therapist=money_therapist)
    assert holds.appointment_hold_place(appointment_id=appointment.pk).status == PaymentStatus.FAILED
    assert holds.appointment_holds_sweep()["held"] == 0  # nothing new: not tried again

    BillingCustomerFactory(user=member)
    billing_services.card_save(member=member, stripe_payment_method_id="pm_new_4242", brand="visa", last4="4242")
    assert holds.appointment_holds_sweep()["held"] == 1
    assert holds.appointment_holds_sweep()["held"] == 0
    rows = AppointmentPayment.objects.filter(appointment=appointment).order_by("created_at")
    assert [(r.status, r.idempotency_key.rsplit("-", 1)[-1]) for r in rows] == [("failed", "1"), ("authorized", "2")]
    assert len(pi_creates(fake_stripe)) == 1


def test_a_refusal_with_a_card_on_file_does_not_ask_her_to_add_a_card(fake_stripe, upcoming):
    from billing.services.cards import REQUEST_KEY
    from tests.factories.billing import PaymentIntentFactory

    # An earlier request under the same key for another amount: billing refuses, Stripe is not asked.
    PaymentIntentFactory(
        user=upcoming.user, amount=Decimal("1.00"), metadata={REQUEST_KEY: f"appt-{upcoming.pk}-hold-1"}
    )

    row = holds.appointment_hold_place(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.FAILED and "different amount" in row.failure_message
    assert not pi_creates(fake_stripe)
    notice = UserNotification.objects.get(user=upcoming.user, type="appointment_card_needed")
    assert notice.title == "About the fee for your session"
    assert "nothing was charged" in notice.message and "add a card" not in notice.message


def test_full_capture_after_the_session(fake_stripe, upcoming):
    holds.appointment_hold_place(appointment_id=upcoming.pk)

    row = holds.appointment_hold_capture(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.CAPTURED and row.amount == SESSION_FEE and row.captured_at
    assert row.payment.status == "succeeded"
    assert fake_stripe.creates("/v1/payment_intents/")[-1].path.endswith("/capture")
    assert holds.appointment_hold_capture(appointment_id=upcoming.pk).pk == row.pk
    assert len([c for c in fake_stripe.calls if c.path.endswith("/capture")]) == 1


def test_partial_capture_takes_only_that_amount(fake_stripe, upcoming):
    holds.appointment_hold_place(appointment_id=upcoming.pk)

    row = holds.appointment_hold_capture(appointment_id=upcoming.pk, amount=Decimal("100.00"))

    assert row.status == PaymentStatus.CAPTURED and row.amount == Decimal("100.00")
    [capture] = [c for c in fake_stripe.calls if c.path.endswith("/capture")]
    assert capture.params["amount_to_capture"] == "10000"


def test_a_partial_capture_stripe_did_not_answer_is_retried_for_the_same_amount(fake_stripe, settings, upcoming):
    holds.appointment_hold_place(appointment_id=upcoming.pk)
    type(upcoming).objects.filter(pk=upcoming.pk).update(status=AppointmentStatus.COMPLETED)
    stripe_breaks(fake_stripe, settings, "500", path="/v1/payment_intents/")

    row = holds.appointment_hold_capture(appointment_id=upcoming.pk, amount=Decimal("100.00"))
    assert row.status == PaymentStatus.AUTHORIZED and row.capture_amount == Decimal("100.00")

    stripe_mends(fake_stripe, settings)
    assert holds.appointment_holds_sweep()["captured"] == 1
    row.refresh_from_db()
    assert row.status == PaymentStatus.CAPTURED and row.amount == Decimal("100.00")
    captures = {c.params["amount_to_capture"] for c in fake_stripe.calls if c.path.endswith("/capture")}
    assert captures == {"10000"}  # never the whole hold


def test_no_hold_means_the_fee_is_charged_once_off_session(fake_stripe, carded_member, money_therapist, policy):
    past = booked(member=carded_member, therapist=money_therapist, policy=policy, starts_in=-timedelta(hours=2))

    row = holds.appointment_hold_capture(appointment_id=past.pk)

    assert row.status == PaymentStatus.CAPTURED and row.idempotency_key == f"appt-{past.pk}-charge-1"
    assert holds.appointment_hold_capture(appointment_id=past.pk).pk == row.pk
    assert len(pi_creates(fake_stripe)) == 1


def test_release_lets_go_of_the_hold_at_once(fake_stripe, upcoming):
    holds.appointment_hold_place(appointment_id=upcoming.pk)

    row = holds.appointment_hold_release(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.RELEASED and row.released_at is not None
    assert row.payment.status == "canceled"
    assert fake_stripe.calls[-1].path.endswith("/cancel")


def test_a_refused_card_fails_the_hold_in_blooms_words(fake_stripe, settings, upcoming):
    stripe_breaks(fake_stripe, settings, "402", path="/v1/payment_intents", decline_code="insufficient_funds")

    row = holds.appointment_hold_place(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.FAILED
    assert "insufficient funds" in row.failure_message
    assert EmailQueue.objects.filter(to_email=upcoming.user.email).exists()
    assert_no_provider_text(fake_stripe, row.failure_message, *queued_email_texts())
    # Nothing is retried behind the member's back: the next hold waits for staff or a new card.
    stripe_mends(fake_stripe, settings)
    holds.appointment_holds_sweep()
    assert AppointmentPayment.objects.count() == 1 and len(pi_creates(fake_stripe)) == 1


@pytest.mark.parametrize("failure", UNKNOWN_FAILURES)
def test_an_unknown_outcome_is_checked_again_and_never_held_twice(fake_stripe, settings, upcoming, failure):
    stripe_breaks(fake_stripe, settings, failure, path="/v1/payment_intents")

    row = holds.appointment_hold_place(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.CHECKING
    assert row.failure_message == holds.CHECKING_MESSAGE
    assert StripeCheck.objects.filter(payment=row.payment, settled_at__isnull=True).count() == 1
    assert not EmailQueue.objects.filter(to_email=upcoming.user.email).exists()
    assert_no_provider_text(fake_stripe, row.failure_message)

    stripe_mends(fake_stripe, settings)
    holds.appointment_holds_sweep()

    row.refresh_from_db()
    assert row.status == PaymentStatus.AUTHORIZED and row.failure_message == ""
    assert AppointmentPayment.objects.count() == 1 and PaymentIntent.objects.count() == 1
    keys = {c.idempotency_key for c in pi_creates(fake_stripe)}
    assert keys <= {row.idempotency_key}
    assert len(fake_stripe.payment_intents) == 1  # one PaymentIntent at Stripe


def test_a_release_stripe_does_not_answer_is_retried_by_the_sweep(fake_stripe, settings, upcoming):
    holds.appointment_hold_place(appointment_id=upcoming.pk)
    type(upcoming).objects.filter(pk=upcoming.pk).update(status=AppointmentStatus.CANCELLED)
    stripe_breaks(fake_stripe, settings, "500", path="/v1/payment_intents/")

    row = holds.appointment_hold_release(appointment_id=upcoming.pk)
    assert row.status == PaymentStatus.AUTHORIZED and "Releasing the hold" in row.failure_message

    stripe_mends(fake_stripe, settings)
    assert holds.appointment_holds_sweep()["released"] == 1
    row.refresh_from_db()
    assert row.status == PaymentStatus.RELEASED


class WorkerKilled(BaseException):
    """Stands for SIGKILL between Stripe's answer and Bloom recording it."""


def test_a_worker_killed_after_stripe_acted_never_holds_twice(fake_stripe, monkeypatch, upcoming):
    real = cards._apply_intent_result

    def die(**kwargs):
        raise WorkerKilled

    monkeypatch.setattr(cards, "_apply_intent_result", die)
    with pytest.raises(WorkerKilled):
        holds.appointment_hold_place(appointment_id=upcoming.pk)
    assert len(fake_stripe.payment_intents) == 1  # Stripe acted; Bloom never heard

    monkeypatch.setattr(cards, "_apply_intent_result", real)
    holds.appointment_holds_sweep()

    row = AppointmentPayment.objects.get()
    assert row.status == PaymentStatus.AUTHORIZED
    assert PaymentIntent.objects.count() == 1
    assert {c.idempotency_key for c in pi_creates(fake_stripe)} == {row.idempotency_key}
    assert len(fake_stripe.payment_intents) == 1


def test_a_bank_asking_the_member_to_confirm_leaves_the_hold_checking(fake_stripe, upcoming):
    fake_stripe.next_payment_intent_error = "authentication_required"

    row = holds.appointment_hold_place(appointment_id=upcoming.pk)

    assert row.status == PaymentStatus.CHECKING and row.failure_message == holds.NEEDS_ACTION_MESSAGE
    assert UserNotification.objects.filter(user=upcoming.user).exists()  # billing asked her, kindly
    holds.appointment_holds_sweep()
    assert len(pi_creates(fake_stripe)) == 1  # asked again from Bloom's records, not from Stripe


def test_attended_while_the_hold_was_still_checking_captures_once_confirmed(fake_stripe, settings, upcoming):
    stripe_breaks(fake_stripe, settings, "500", path="/v1/payment_intents")
    holds.appointment_hold_place(appointment_id=upcoming.pk)
    type(upcoming).objects.filter(pk=upcoming.pk).update(status=AppointmentStatus.COMPLETED)

    assert holds.appointment_hold_capture(appointment_id=upcoming.pk).status == PaymentStatus.CHECKING
    stripe_mends(fake_stripe, settings)
    holds.appointment_holds_sweep()

    row = AppointmentPayment.objects.get()
    assert row.status == PaymentStatus.CAPTURED and len(fake_stripe.payment_intents) == 1
