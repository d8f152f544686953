"""Calendly events tied to the member, her accepted policy and her hold: tracking value, cancel
and reschedule links, reschedules in either order, host and late cancellations, no-shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import holds
from appointments.models import AppointmentData, AppointmentPayment, AppointmentStatus, CancelledBy, PaymentStatus
from appointments.tracking import booking_tracking_value
from tests.factories.accounts import UserFactory
from tests.factories.appointments import BookingPolicyAcceptanceFactory

from .support_money import *  # noqa: F403
from .support_money import HOST_URI, NO_SHOW_FEE, booked, money_body, pi_creates, process, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks, eager_tasks, fake_stripe):
    return lambda body: process(body, django_capture_on_commit_callbacks)


def _created(member, **kwargs):
    return money_body(email=kwargs.pop("email", member.email), **kwargs)


def test_the_tracking_value_ties_a_booking_made_under_another_email(run, carded_member, money_therapist, policy):
    UserFactory(email="other@example.com")  # the email she typed belongs to someone else
    body = _created(carded_member, email="other@example.com")
    body["payload"]["tracking"] = {
        "utm_content": booking_tracking_value(member=carded_member, therapist=money_therapist)
    }

    assert run(body) == "created"

    appointment = AppointmentData.objects.get()
    assert appointment.user == carded_member
    assert appointment.policy_acceptance == policy
    assert appointment.calendly_cancel_url == "https://calendly.com/cancellations/AAAA"
    assert appointment.calendly_reschedule_url == "https://calendly.com/reschedulings/AAAA"


def test_a_forged_tracking_value_falls_back_to_the_email(run, carded_member, policy):
    body = _created(carded_member)
    body["payload"]["tracking"] = {"utm_content": "0" * 30}

    run(body)

    assert AppointmentData.objects.get().user == carded_member


def test_the_latest_accepted_policy_for_that_therapist_is_linked(run, carded_member, money_therapist, policy):
    newer = BookingPolicyAcceptanceFactory(user=carded_member, therapist=money_therapist, policy_version="2027-01")
    BookingPolicyAcceptanceFactory(user=carded_member)  # another therapist's

    run(_created(carded_member))

    assert AppointmentData.objects.get().policy_acceptance == newer


def test_a_new_booking_inside_the_window_is_held_after_commit(run, fake_stripe, carded_member, policy):
    run(_created(carded_member))

    appointment = AppointmentData.objects.get()
    assert rows(appointment) == [("session_fee", "authorized")]
    assert len(pi_creates(fake_stripe)) == 1


def _reschedule_pair(member, *, new_starts_at):
    old_uri = f"https://api.calendly.com/scheduled_events/OLD/invitees/{member.pk.hex[:8]}"
    new_uri = f"https://api.calendly.com/scheduled_events/NEW/invitees/{member.pk.hex[:8]}"
    canceled = money_body(email=member.email, event="invitee.canceled", invitee_uri=old_uri, rescheduled=True)
    canceled["payload"]["new_invitee"] = new_uri
    created = money_body(email=member.email, invitee_uri=new_uri, starts_at=new_starts_at)
    created["payload"]["old_invitee"] = old_uri
    return old_uri, canceled, created


@pytest.mark.parametrize("order", ["canceled_first", "created_first"])
def test_a_reschedule_in_either_order_is_one_history_with_the_hold_moved(
    run, fake_stripe, carded_member, money_therapist, policy, order
):
    old_uri, canceled, created = _reschedule_pair(
        carded_member, new_starts_at=(timezone.now() + timedelta(days=4)).replace(microsecond=0)
    )
    # The first booking, 2 days ahead, is held.
    first = money_body(email=carded_member.email, invitee_uri=old_uri, created_at=timezone.now() - timedelta(hours=1))
    run(first)
    old = AppointmentData.objects.get(calendly_invitee_uri=old_uri)
    assert rows(old) == [("session_fee", "authorized")]

    for body in (canceled, created) if order == "canceled_first" else (created, canceled):
        run(body)

    old.refresh_from_db()
    new = AppointmentData.objects.exclude(pk=old.pk).get()
    assert old.status == AppointmentStatus.RESCHEDULED
    assert new.status == AppointmentStatus.SCHEDULED
    assert new.rescheduled_from == old and old.rescheduled_to == new
    assert old.calendly_new_invitee_uri == new.calendly_invitee_uri
    assert new.calendly_old_invitee_uri == old.calendly_invitee_uri
    assert new.policy_acceptance == policy
    assert rows(old) == [("session_fee", "released")]
    assert rows(new) == [("session_fee", "authorized")]
    assert not AppointmentPayment.objects.exclude(kind="session_fee").exists()  # never a fee
    assert len(fake_stripe.payment_intents) == 2


def test_a_host_cancellation_releases_at_once_and_never_charges(run, carded_member, policy):
    run(_created(carded_member))
    appointment = AppointmentData.objects.get()
    body = money_body(email=carded_member.email, event="invitee.canceled", invitee_uri=appointment.calendly_invitee_uri)
    body["payload"]["cancellation"]["canceler_type"] = "host"

    assert run(body) == "cancelled"

    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by) == ("cancelled", CancelledBy.HOST)
    assert rows(appointment) == [("session_fee", "released")]


def test_a_member_cancelling_inside_the_window_owes_a_pending_fee(
    run, fake_stripe, carded_member, money_therapist, policy
):
    soon = (timezone.now() + timedelta(hours=10)).replace(microsecond=0)
    run(_created(carded_member, starts_at=soon))
    appointment = AppointmentData.objects.get()
    body = money_body(
        email=carded_member.email,
        event="invitee.canceled",
        invitee_uri=appointment.calendly_invitee_uri,
        starts_at=soon,
    )

    assert run(body) == "late_cancelled"

    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by) == ("late_cancelled", CancelledBy.INVITEE)
    fee = AppointmentPayment.objects.get(kind="late_cancel_fee")
    assert fee.status == PaymentStatus.PENDING and fee.amount == policy.late_cancel_fee  # the accepted fee
    assert rows(appointment) == [("session_fee", "released"), ("late_cancel_fee", "pending")]
    assert len(fake_stripe.payment_intents) == 1  # only the hold: nothing charged without confirmation


def test_a_member_cancelling_outside_the_window_owes_nothing(run, carded_member, policy):
    run(_created(carded_member))
    appointment = AppointmentData.objects.get()
    body = money_body(email=carded_member.email, event="invitee.canceled", invitee_uri=appointment.calendly_invitee_uri)

    assert run(body) == "cancelled"

    assert rows(appointment) == [("session_fee", "released")]


def _no_show(appointment, event="invitee_no_show.created"):
    body = money_body(email=appointment.invitee_email, invitee_uri=appointment.calendly_invitee_uri)
    body["event"] = event
    body["payload"]["no_show"] = {
        "uri": "https://api.calendly.com/invitee_no_shows/NS1",
        "created_at": body["created_at"],
    }
    return body


@pytest.fixture
def missed(fake_stripe, carded_member, money_therapist, policy):
    appointment = booked(member=carded_member, therapist=money_therapist, policy=policy, starts_in=timedelta(hours=1))
    holds.appointment_hold_place(appointment_id=appointment.pk)
    type(appointment).objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() - timedelta(minutes=10)
    )
    return appointment


def test_calendly_no_show_mark_leaves_a_pending_fee(run, missed):
    assert run(_no_show(missed)) == "no_show"

    missed.refresh_from_db()
    assert missed.status == AppointmentStatus.NO_SHOW and missed.no_show_marked_in_calendly_at is not None
    fee = AppointmentPayment.objects.get(kind="no_show_fee")
    assert (fee.status, fee.amount, fee.idempotency_key) == ("pending", NO_SHOW_FEE, f"appt-{missed.pk}-noshow-1")
    assert rows(missed) == [("session_fee", "released"), ("no_show_fee", "pending")]


def test_calendly_removing_the_mark_undoes_it_before_any_charge(run, missed):
    run(_no_show(missed))
    deleted = _no_show(missed, event="invitee_no_show.deleted")
    deleted["created_at"] = (timezone.now() + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    assert run(deleted) == "undone"

    missed.refresh_from_db()
    assert missed.status == AppointmentStatus.SCHEDULED
    fee = AppointmentPayment.objects.get(kind="no_show_fee")
    assert fee.status == PaymentStatus.WAIVED and "removed in Calendly" in fee.waive_reason


def test_calendly_removing_the_mark_after_the_charge_asks_staff(run, fake_stripe, missed, clinician):
    from appointments import attendance

    run(_no_show(missed))
    fee = attendance.appointment_fee_confirm(row=AppointmentPayment.objects.get(kind="no_show_fee"), actor=clinician)
    assert fee.status == PaymentStatus.CAPTURED
    deleted = _no_show(missed, event="invitee_no_show.deleted")
    deleted["created_at"] = (timezone.now() + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    assert run(deleted) == "needs_refund_decision"

    missed.refresh_from_db()
    fee.refresh_from_db()
    assert missed.status == AppointmentStatus.NO_SHOW and fee.status == PaymentStatus.CAPTURED
    assert "decide whether to refund" in fee.failure_message


def test_a_no_show_for_an_unknown_booking_is_ignored(run):
    body = money_body(host_uri=HOST_URI)
    body["event"] = "invitee_no_show.created"

    assert run(body) == "ignored_unknown_invitee"
    assert not AppointmentData.objects.exists()


def test_the_accepted_window_decides_lateness_not_todays(run, carded_member, money_therapist, policy):
    # She accepted 24 hours; the therapist has since moved to 72. Cancelling 30 hours ahead is on time.
    type(money_therapist).objects.filter(pk=money_therapist.pk).update(cancellation_window_hours=72)
    soon = (timezone.now() + timedelta(hours=30)).replace(microsecond=0)
    run(_created(carded_member, starts_at=soon))
    appointment = AppointmentData.objects.get()
    body = money_body(
        email=carded_member.email,
        event="invitee.canceled",
        invitee_uri=appointment.calendly_invitee_uri,
        starts_at=soon,
    )

    assert run(body) == "cancelled"
    assert not AppointmentPayment.objects.exclude(kind="session_fee").exists()
