"""Attendance and fees: who may mark, capture on attended, pending fees per the accepted policy,
confirmation before any charge, waivers with a reason, and the admin buttons (audited)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import AdminActivityLog
from appointments import attendance, holds
from appointments.models import AppointmentPayment, AppointmentStatus, CancelledBy, PaymentStatus
from bloom.exceptions import ApplicationError
from tests.billing.stripe_fakes import assert_no_provider_text, stripe_breaks, stripe_mends
from tests.factories.accounts import StaffUserFactory

from .support_money import *  # noqa: F403
from .support_money import LATE_CANCEL_FEE, NO_SHOW_FEE, SESSION_FEE, booked, pi_creates, rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_past(fake_stripe, carded_member, money_therapist, policy):
    """A session that started an hour ago, held while it was upcoming."""
    appointment = booked(member=carded_member, therapist=money_therapist, policy=policy, starts_in=timedelta(hours=1))
    holds.appointment_hold_place(appointment_id=appointment.pk)
    type(appointment).objects.filter(pk=appointment.pk).update(
        starts_at=appointment.starts_at - timedelta(hours=2), ends_at=appointment.ends_at - timedelta(hours=2)
    )
    appointment.refresh_from_db()
    return appointment


@pytest.fixture
def other_clinician(db):
    return StaffUserFactory(email="someone-else@bloom.test")


def test_only_the_sessions_therapist_or_the_owner_may_mark(held_past, clinician, other_clinician):
    owner = StaffUserFactory(is_superuser=True)
    assert attendance.may_mark_attendance(actor=clinician, appointment=held_past)
    assert attendance.may_mark_attendance(actor=owner, appointment=held_past)
    assert not attendance.may_mark_attendance(actor=other_clinician, appointment=held_past)

    with pytest.raises(ApplicationError, match="Only this session's therapist"):
        attendance.appointment_mark_no_show(appointment=held_past, actor=other_clinician)
    held_past.refresh_from_db()
    assert held_past.status == AppointmentStatus.SCHEDULED
    assert rows(held_past) == [("session_fee", "authorized")]


def test_attended_captures_the_hold(held_past, clinician):
    row = attendance.appointment_mark_attended(appointment=held_past, actor=clinician)

    held_past.refresh_from_db()
    assert held_past.status == AppointmentStatus.COMPLETED
    assert held_past.attendance_marked_by == clinician and held_past.attendance_marked_at is not None
    assert (row.status, row.amount) == (PaymentStatus.CAPTURED, SESSION_FEE)


def test_attended_with_a_partial_amount(held_past, clinician):
    row = attendance.appointment_mark_attended(appointment=held_past, actor=clinician, amount=Decimal("90"))

    assert (row.status, row.amount) == (PaymentStatus.CAPTURED, Decimal("90.00"))


def test_a_session_cannot_be_marked_before_it_starts(fake_stripe, carded_member, money_therapist, policy, clinician):
    upcoming = booked(member=carded_member, therapist=money_therapist, policy=policy)
    for mark in (attendance.appointment_mark_attended, attendance.appointment_mark_no_show):
        with pytest.raises(ApplicationError, match="once it has started"):
            mark(appointment=upcoming, actor=clinician)


def test_no_show_releases_the_hold_and_waits_for_confirmation(fake_stripe, held_past, clinician):
    fee = attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)

    assert (fee.kind, fee.status, fee.amount) == ("no_show_fee", "pending", NO_SHOW_FEE)  # accepted, not today's 999
    assert rows(held_past) == [("session_fee", "released"), ("no_show_fee", "pending")]
    assert len(fake_stripe.payment_intents) == 1  # only the hold
    # Marking again changes nothing.
    assert attendance.appointment_mark_no_show(appointment=held_past, actor=clinician).pk == fee.pk
    assert AppointmentPayment.objects.count() == 2


def test_confirming_charges_once(fake_stripe, held_past, clinician):
    fee = attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)

    charged = attendance.appointment_fee_confirm(row=fee, actor=clinician)

    assert charged.pk == fee.pk and charged.status == PaymentStatus.CAPTURED and charged.payment is not None
    with pytest.raises(ApplicationError, match="nothing to confirm"):
        attendance.appointment_fee_confirm(row=fee, actor=clinician)
    charges = [c for c in pi_creates(fake_stripe) if c.params.get("capture_method") != "manual"]
    assert [c.idempotency_key for c in charges] == [f"appt-{held_past.pk}-noshow-1"]
    assert AppointmentPayment.objects.filter(kind="no_show_fee").count() == 1


def test_a_declined_fee_can_be_confirmed_again_under_the_next_key(fake_stripe, settings, held_past, clinician):
    fee = attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)
    stripe_breaks(fake_stripe, settings, "402", path="/v1/payment_intents")

    failed = attendance.appointment_fee_confirm(row=fee, actor=clinician)
    assert failed.status == PaymentStatus.FAILED
    assert_no_provider_text(fake_stripe, failed.failure_message)

    stripe_mends(fake_stripe, settings)
    again = attendance.appointment_fee_confirm(row=failed, actor=clinician)
    assert again.pk != failed.pk and again.status == PaymentStatus.CAPTURED
    assert again.idempotency_key == f"appt-{held_past.pk}-noshow-2"


def test_waiving_needs_a_reason_and_charges_nothing(fake_stripe, held_past, clinician):
    fee = attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)
    with pytest.raises(ApplicationError, match="reason"):
        attendance.appointment_fee_waive(row=fee, actor=clinician, reason="  ")

    waived = attendance.appointment_fee_waive(row=fee, actor=clinician, reason="Her baby was unwell.")

    assert (waived.status, waived.waived_by, waived.waive_reason) == ("waived", clinician, "Her baby was unwell.")
    with pytest.raises(ApplicationError, match="nothing to confirm"):
        attendance.appointment_fee_confirm(row=waived, actor=clinician)
    assert len(fake_stripe.payment_intents) == 1


def test_late_cancelled_follows_the_accepted_policy(fake_stripe, carded_member, money_therapist, policy, clinician):
    appointment = booked(member=carded_member, therapist=money_therapist, policy=policy, starts_in=timedelta(hours=3))

    fee = attendance.appointment_mark_late_cancelled(appointment=appointment, actor=clinician)

    assert (fee.kind, fee.amount) == ("late_cancel_fee", LATE_CANCEL_FEE)


@pytest.mark.parametrize("by", [CancelledBy.HOST, CancelledBy.STAFF])
def test_never_a_fee_for_a_cancellation_by_the_therapist_or_practice(
    fake_stripe, carded_member, money_therapist, policy, clinician, by
):
    appointment = booked(
        member=carded_member, therapist=money_therapist, policy=policy, status="cancelled", cancelled_by=by
    )
    with pytest.raises(ApplicationError, match="no fee applies"):
        attendance.appointment_mark_late_cancelled(appointment=appointment, actor=clinician)
    assert not AppointmentPayment.objects.exists()


def test_never_a_fee_for_a_reschedule(fake_stripe, carded_member, money_therapist, policy, clinician):
    moved = booked(member=carded_member, therapist=money_therapist, policy=policy, status="rescheduled")
    for mark in (attendance.appointment_mark_late_cancelled, attendance.appointment_mark_no_show):
        with pytest.raises(ApplicationError, match="no fee applies"):
            mark(appointment=moved, actor=clinician)
    assert not AppointmentPayment.objects.exists()


def test_no_accepted_policy_means_no_fee(fake_stripe, carded_member, money_therapist, clinician):
    appointment = booked(member=carded_member, therapist=money_therapist, starts_in=-timedelta(hours=1))

    assert attendance.appointment_mark_no_show(appointment=appointment, actor=clinician) is None
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


# --- the admin change page -------------------------------------------------------------------


@pytest.fixture
def admin_clinician(client, clinician):
    for codename in ("view_appointmentdata", "change_appointmentdata"):
        clinician.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(clinician)
    return client


def _url(name, *args):
    return reverse(f"admin:appointments_appointmentdata_{name}", args=args)


def test_the_change_page_offers_the_marks(admin_clinician, held_past):
    response = admin_clinician.get(_url("change", held_past.pk))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Attendance and fees" in body
    assert _url("attendance", held_past.pk, "attended") in body
    assert _url("attendance", held_past.pk, "no_show") in body


def test_marking_no_show_asks_first_then_is_audited(admin_clinician, held_past):
    url = _url("attendance", held_past.pk, "no_show")
    page = admin_clinician.get(url)
    assert page.status_code == 200 and "Mark no-show" in page.content.decode()
    held_past.refresh_from_db()
    assert held_past.status == AppointmentStatus.SCHEDULED  # a GET changes nothing

    response = admin_clinician.post(url)

    assert response.status_code == 302
    held_past.refresh_from_db()
    assert held_past.status == AppointmentStatus.NO_SHOW
    log = AdminActivityLog.objects.get(object_id=str(held_past.pk))
    assert log.action == "change" and "Mark no-show" in str(log.changes)


def test_confirm_and_waive_pages(admin_clinician, held_past, clinician, fake_stripe):
    fee = attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)
    change = admin_clinician.get(_url("change", held_past.pk)).content.decode()
    assert _url("fee_confirm", held_past.pk, fee.pk) in change

    waive_url = _url("fee_waive", held_past.pk, fee.pk)
    missing = admin_clinician.post(waive_url, {"reason": ""})
    assert missing.status_code == 200 and "Please give a reason" in missing.content.decode()

    confirm = admin_clinician.get(_url("fee_confirm", held_past.pk, fee.pk))
    assert f"Charge {NO_SHOW_FEE} USD" in confirm.content.decode()
    assert admin_clinician.post(_url("fee_confirm", held_past.pk, fee.pk)).status_code == 302
    fee.refresh_from_db()
    assert fee.status == PaymentStatus.CAPTURED
    assert AdminActivityLog.objects.filter(object_id=str(held_past.pk), changes__icontains="Confirmed").exists()


def test_another_clinician_is_refused(client, other_clinician, held_past):
    for codename in ("view_appointmentdata", "change_appointmentdata"):
        other_clinician.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(other_clinician)

    assert client.post(_url("attendance", held_past.pk, "no_show")).status_code == 403
    held_past.refresh_from_db()
    assert held_past.status == AppointmentStatus.SCHEDULED
    assert _url("attendance", held_past.pk, "no_show") not in client.get(_url("change", held_past.pk)).content.decode()


@pytest.mark.parametrize("failure", ["500", "timeout_after_processing", "malformed"])
def test_a_fee_stripe_did_not_answer_is_asked_again_and_charged_once(
    fake_stripe, settings, held_past, clinician, failure
):
    fee = attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)
    stripe_breaks(fake_stripe, settings, failure, path="/v1/payment_intents")

    checking = attendance.appointment_fee_confirm(row=fee, actor=clinician)
    assert checking.status == PaymentStatus.CHECKING
    assert_no_provider_text(fake_stripe, checking.failure_message)
    # A second click meanwhile never makes a second charge.
    attendance.appointment_fee_confirm(row=fee, actor=clinician)

    stripe_mends(fake_stripe, settings)
    assert holds.appointment_holds_sweep()["checked"] == 1

    fee.refresh_from_db()
    assert fee.status == PaymentStatus.CAPTURED
    charges = [c for c in pi_creates(fake_stripe) if c.params.get("capture_method") != "manual"]
    assert {c.idempotency_key for c in charges} == {fee.idempotency_key}
    assert len([i for i in fake_stripe.payment_intents.values() if i["capture_method"] == "automatic"]) == 1
    assert AppointmentPayment.objects.filter(kind="no_show_fee").count() == 1


def test_a_capture_the_card_refuses_fails_the_row_in_blooms_words(fake_stripe, settings, held_past, clinician):
    stripe_breaks(fake_stripe, settings, "402", path="/v1/payment_intents/")

    row = attendance.appointment_mark_attended(appointment=held_past, actor=clinician)

    assert row.status == PaymentStatus.FAILED and row.failure_message
    assert_no_provider_text(fake_stripe, row.failure_message)


def test_the_same_key_with_another_amount_is_refused_by_billing(fake_stripe, carded_member):
    from billing import services as billing_services

    def charge(amount):
        return billing_services.payment_charge_off_session(
            member=carded_member,
            kind="appointment_no_show_fee",
            object_id="00000000-0000-0000-0000-000000000000",
            amount=Decimal(amount),
            description="Fee",
            idempotency_key="appt-test-noshow-1",
        )

    first = charge("60.00")
    assert charge("60.00").pk == first.pk
    with pytest.raises(ApplicationError, match="different amount"):
        charge("70.00")
    assert len(pi_creates(fake_stripe)) == 1


def test_the_change_page_query_count_does_not_grow_with_fees(admin_clinician, held_past, clinician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories.appointments import AppointmentPaymentFactory

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_clinician.get(_url("change", held_past.pk)).status_code == 200
        return len(ctx.captured_queries)

    admin_clinician.get(_url("change", held_past.pk))
    AppointmentPaymentFactory(appointment=held_past, kind="no_show_fee", status="waived", amount=NO_SHOW_FEE)
    few = count()
    for _ in range(5):
        AppointmentPaymentFactory(appointment=held_past, kind="late_cancel_fee", status="failed", amount=NO_SHOW_FEE)
    assert count() == few


def test_links_for_the_workspace_only_for_the_sessions_therapist(fake_stripe, held_past, clinician, other_clinician):
    assert attendance.attendance_links(appointment=held_past, actor=other_clinician) == []
    labels = [link["label"] for link in attendance.attendance_links(appointment=held_past, actor=clinician)]
    assert labels == ["Mark attended", "Mark no-show", "Mark late-cancelled"]

    attendance.appointment_mark_no_show(appointment=held_past, actor=clinician)
    held_past.refresh_from_db()
    links = attendance.attendance_links(appointment=held_past, actor=clinician)
    assert [link["label"] for link in links] == [
        "Mark attended",
        f"Confirm the no-show fee ({NO_SHOW_FEE} USD)",
        f"Waive the no-show fee ({NO_SHOW_FEE} USD)",
    ]
    assert links[1]["url"].endswith("/confirm/")
