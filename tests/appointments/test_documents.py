"""Receipts and superbills: what the selectors find (only her money, refunds, partial captures)
and what the PDFs say."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Charge

from appointments import documents, gfe
from appointments.models import AppointmentData, AppointmentStatus, GoodFaithEstimate, PaymentKind, PaymentStatus
from tests.appointments.support_documents import past_session, pay, pdf_text, refund
from tests.factories.accounts import UserFactory
from tests.factories.appointments import (
    AppointmentPaymentFactory,
    BookingPolicyAcceptanceFactory,
    TherapistProfileFactory,
)

pytestmark = pytest.mark.django_db

PRACTICE = documents.Practice(name="Bloom Psychology", address="1 Test Way, San Diego, CA 92101", tax_id="12-3456789")


@pytest.fixture
def member():
    return UserFactory(first_name="Maya", last_name="Member")


@pytest.fixture
def therapist():
    return TherapistProfileFactory(
        display_name="Dr. Ada Hart",
        credentials="PhD",
        npi="1234567893",
        license_number="PSY 12345",
        session_fee=Decimal("180.00"),
    )


def _receipt_text(receipt, member) -> str:
    return pdf_text(
        documents.receipt_pdf(receipt=receipt, member=member, practice=PRACTICE, issued_on=datetime.date(2026, 12, 2))
    )


# --- Receipts -----------------------------------------------------------------------------------


def test_a_captured_session_fee_gives_a_receipt_with_everything_an_insurer_asks_for(member, therapist):
    appointment = past_session(member=member, therapist=therapist)
    pay(appointment=appointment, amount="180.00")

    receipt = documents.receipt_get_for_member(member=member, appointment_id=appointment.pk)
    text = _receipt_text(receipt, member)

    assert receipt.net == Decimal("180.00") and not receipt.fee_only
    for expected in (
        "BLOOM PSYCHOLOGY",
        "1 Test Way, San Diego, CA 92101",
        "Tax ID (EIN): 12-3456789",
        f"Receipt number: {receipt.number}",
        "Billed to: Maya Member",
        "Provider: Dr. Ada Hart, PhD",
        "NPI: 1234567893",
        "Service: Psychotherapy, 60 minutes (CPT 90837)",
        "Session fee",
        "$180.00 USD",
        "Card",
    ):
        assert expected in text, expected
    local = timezone.localtime(appointment.starts_at)
    assert f"Date of service: {local:%A, %B %-d, %Y}" in text
    assert "Refund" not in text


def test_receipt_number_is_stable_and_differs_between_sessions(member, therapist):
    first, second = past_session(member=member, therapist=therapist), past_session(member=member, therapist=therapist)
    assert (
        documents.receipt_number(first)
        == documents.receipt_number(AppointmentData.objects.get(pk=first.pk))
        != documents.receipt_number(second)
    )


def test_a_partial_capture_and_a_refund_show_what_was_really_paid(member, therapist):
    appointment = past_session(member=member, therapist=therapist)
    payment = pay(appointment=appointment, amount="180.00", captured="120.00")
    refund(payment=payment, amount="40.00")

    receipt = documents.receipt_get_for_member(member=member, appointment_id=appointment.pk)
    text = _receipt_text(receipt, member)

    assert (receipt.paid, receipt.refunded, receipt.net) == (Decimal("120.00"), Decimal("40.00"), Decimal("80.00"))
    assert "$180.00" not in text  # the authorised amount was never taken
    assert "$120.00 USD" in text and "Refund of the session fee" in text and "-$40.00 USD" in text
    assert "Net paid" in text and "$80.00 USD" in text


def test_a_refund_made_in_the_stripe_dashboard_without_a_refund_row_is_still_shown(member, therapist):
    from billing import services as billing_services

    appointment = past_session(member=member, therapist=therapist)
    payment = pay(appointment=appointment, amount="180.00")
    billing_services.payment_refund_apply(payment=payment, total_refunded=Decimal("180.00"))

    receipt = documents.receipt_get_for_member(member=member, appointment_id=appointment.pk)

    assert receipt.net == Decimal("0.00") and receipt.charges[0].refunds[0].amount == Decimal("180.00")
    assert "Refund of the session fee" in _receipt_text(receipt, member)


def test_a_no_show_fee_gets_a_fee_only_receipt_without_a_service_code(member, therapist):
    appointment = past_session(member=member, therapist=therapist, status=AppointmentStatus.NO_SHOW)
    pay(appointment=appointment, amount="75.00", kind="appointment_no_show_fee")

    receipt = documents.receipt_get_for_member(member=member, appointment_id=appointment.pk)
    text = _receipt_text(receipt, member)

    assert receipt.fee_only and receipt.charges[0].kind == PaymentKind.NO_SHOW_FEE
    assert "No-show fee" in text and "$75.00 USD" in text
    assert "CPT" not in text and "not a payment for a therapy service" in text.replace("\n", " ")


def test_the_card_is_named_when_stripe_told_billing_which_card_paid(member, therapist):
    appointment = past_session(member=member, therapist=therapist)
    Charge.objects.create(
        id="ch_receipt_card",
        amount=Decimal("180.00"),
        currency="usd",
        status="succeeded",
        livemode=False,
        stripe_data={"payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}}},
    )
    pay(appointment=appointment, amount="180.00", charge_id="ch_receipt_card")

    receipt = documents.receipt_get_for_member(member=member, appointment_id=appointment.pk)

    assert receipt.charges[0].method == "Visa ending 4242"
    assert "Visa ending 4242" in _receipt_text(receipt, member)


@pytest.mark.parametrize(
    "status", [PaymentStatus.AUTHORIZED, PaymentStatus.RELEASED, PaymentStatus.WAIVED, PaymentStatus.FAILED, "pending"]
)
def test_no_receipt_where_no_money_was_taken(member, therapist, status):
    appointment = past_session(member=member, therapist=therapist)
    AppointmentPaymentFactory(appointment=appointment, status=status)

    assert documents.receipt_list_for_member(member=member) == []
    with pytest.raises(AppointmentData.DoesNotExist):
        documents.receipt_get_for_member(member=member, appointment_id=appointment.pk)


def test_no_receipt_while_billing_has_not_been_paid(member, therapist):
    from tests.factories.billing import PaymentIntentFactory

    appointment = past_session(member=member, therapist=therapist)
    unpaid = PaymentIntentFactory(user=member, kind="appointment_session_fee", object_id=str(appointment.pk))
    AppointmentPaymentFactory(appointment=appointment, payment=unpaid, status=PaymentStatus.CAPTURED)

    assert documents.receipt_list_for_member(member=member) == []


def test_another_members_session_has_no_receipt_for_her(member, therapist):
    other = past_session(member=UserFactory(), therapist=therapist)
    pay(appointment=other, amount="180.00")

    assert documents.receipt_list_for_member(member=member) == []
    with pytest.raises(AppointmentData.DoesNotExist):
        documents.receipt_get_for_member(member=member, appointment_id=other.pk)


def test_receipts_are_listed_newest_session_first_with_every_charge(member, therapist):
    older = past_session(member=member, therapist=therapist, days_ago=30)
    newer = past_session(member=member, therapist=therapist, days_ago=3, status=AppointmentStatus.LATE_CANCELLED)
    pay(appointment=older, amount="180.00")
    pay(appointment=newer, amount="90.00", kind="appointment_late_cancel_fee")

    receipts = documents.receipt_list_for_member(member=member)

    assert [r.appointment.pk for r in receipts] == [newer.pk, older.pk]
    assert [r.net for r in receipts] == [Decimal("90.00"), Decimal("180.00")]


# --- Superbills ---------------------------------------------------------------------------------


def test_superbill_lists_attended_sessions_with_codes_fees_and_payments(member, therapist):
    today = timezone.localdate()
    coded = past_session(member=member, therapist=therapist, days_ago=20, diagnosis_codes=["F53.0", "F41.1"])
    pay(appointment=coded, amount="180.00", captured="150.00")
    uncoded = past_session(member=member, therapist=therapist, days_ago=5, service_code="", diagnosis_codes=[])
    past_session(member=member, therapist=therapist, days_ago=6, status=AppointmentStatus.NO_SHOW)
    past_session(member=member, therapist=therapist, days_ago=7, status=AppointmentStatus.CANCELLED)
    past_session(member=UserFactory(), therapist=therapist, days_ago=8)

    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=30), end=today)
    text = pdf_text(documents.superbill_pdf(superbill=superbill, practice=PRACTICE))

    assert [line.appointment.pk for line in superbill.lines] == [coded.pk, uncoded.pk]
    assert [(line.fee, line.paid) for line in superbill.lines] == [
        (Decimal("150.00"), Decimal("150.00")),
        (Decimal("180.00"), Decimal("0.00")),  # not charged yet: the therapist's fee, nothing paid
    ]
    assert (superbill.total_fees, superbill.total_paid, superbill.missing_codes_count) == (
        Decimal("330.00"),
        Decimal("150.00"),
        1,
    )
    for expected in (
        "Name: Maya Member",
        "Date of birth: ______________________ (please write it in)",
        "Provider: Dr. Ada Hart, PhD",
        "NPI: 1234567893",
        "License: PSY 12345",
        "Practice tax ID (EIN): 12-3456789",
        "90837",
        "F53.0, F41.1",
        "No codes entered for this session yet: ask your therapist to add them.",
        "$330.00 USD",
        "$150.00 USD",
    ):
        assert expected in text, expected
    assert f"{timezone.localtime(coded.starts_at):%m/%d/%Y}" in text


def test_superbill_fee_follows_the_policy_she_accepted(member, therapist):
    policy = BookingPolicyAcceptanceFactory(user=member, therapist=therapist, session_fee=Decimal("160.00"))
    past_session(member=member, therapist=therapist, policy_acceptance=policy)
    today = timezone.localdate()

    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=30), end=today)

    assert superbill.lines[0].fee == Decimal("160.00")


def test_superbill_paid_is_net_of_refunds(member, therapist):
    appointment = past_session(member=member, therapist=therapist)
    refund(payment=pay(appointment=appointment, amount="180.00"), amount="30.00")
    today = timezone.localdate()

    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=30), end=today)

    assert (superbill.lines[0].fee, superbill.lines[0].paid) == (Decimal("180.00"), Decimal("150.00"))


def test_superbill_range_uses_her_local_days_both_ends_included(member, therapist):
    zone = zoneinfo.ZoneInfo("America/Los_Angeles")
    with timezone.override(zone):
        day = timezone.localdate() - datetime.timedelta(days=10)
        late = datetime.datetime.combine(day, datetime.time(23, 30), tzinfo=zone)  # the next day in UTC
        past_session(member=member, therapist=therapist, starts_at=late, ends_at=late + datetime.timedelta(minutes=50))
        one_day = datetime.timedelta(days=1)

        assert documents.superbill_for_member(member=member, start=day, end=day) is not None
        assert documents.superbill_for_member(member=member, start=day + one_day, end=day + one_day) is None
        assert documents.superbill_for_member(member=member, start=day - 5 * one_day, end=day - one_day) is None


def test_superbill_without_attended_sessions_is_none(member, therapist):
    today = timezone.localdate()
    past_session(member=member, therapist=therapist, status=AppointmentStatus.NO_SHOW)

    assert documents.superbill_for_member(member=member, start=today.replace(month=1, day=1), end=today) is None


def test_default_range_is_this_calendar_year():
    assert documents.superbill_default_range(today=datetime.date(2026, 12, 2)) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 2),
    )


def test_the_demo_member_has_receipts_and_a_superbill_with_a_session_to_code():
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import User

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    member = User.objects.get(email="member@bloom.test")
    today = timezone.localdate()

    receipts = documents.receipt_list_for_member(member=member)
    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=60), end=today)

    # Three from the documents demo, one from the money demo's attended and captured session.
    assert len(receipts) == 4 and sum(r.fee_only for r in receipts) == 1
    assert any(r.refunded == Decimal("50.00") for r in receipts)
    assert len(superbill.lines) == 3 and superbill.missing_codes_count == 2  # + the money demo's session
    assert superbill.providers[0].npi


# --- Good Faith Estimates (the section the lead includes once appointments:gfe_pdf exists) ------


def test_estimates_are_hers_only_newest_first(member, therapist):
    from tests.factories.appointments import GoodFaithEstimateFactory

    older = GoodFaithEstimateFactory(user=member, therapist=therapist)
    newer = GoodFaithEstimateFactory(user=member, therapist=therapist)
    GoodFaithEstimate.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=9))
    GoodFaithEstimateFactory(user=UserFactory(), therapist=therapist)

    assert [e.pk for e in gfe.good_faith_estimate_list_for_member(member=member)] == [newer.pk, older.pk]


def test_estimates_section_has_an_empty_state(member):
    html = render_to_string(
        "appointments/documents/_estimates.html", {"estimates": gfe.good_faith_estimate_list_for_member(member=member)}
    )
    assert "Good Faith Estimates" in html and "No estimates yet." in html


def test_estimates_section_links_each_estimate_to_its_pdf(member, therapist):
    from tests.factories.appointments import GoodFaithEstimateFactory

    estimate = GoodFaithEstimateFactory(user=member, therapist=therapist)

    html = render_to_string(
        "appointments/documents/_estimates.html", {"estimates": gfe.good_faith_estimate_list_for_member(member=member)}
    )

    assert reverse("appointments:gfe_pdf", args=[estimate.pk]) in html and "Dr. Ada Hart" in html


def test_a_long_list_of_diagnoses_is_printed_three_to_a_line(member, therapist):
    past_session(member=member, therapist=therapist, diagnosis_codes=["F53.0", "F41.1", "F43.10", "O99.345"])
    today = timezone.localdate()

    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=30), end=today)
    lines = pdf_text(documents.superbill_pdf(superbill=superbill, practice=PRACTICE)).splitlines()

    assert "F53.0, F41.1, F43.10" in lines and "O99.345" in lines


def test_a_session_without_a_recorded_therapist_still_gets_its_documents(member):
    appointment = past_session(member=member, therapist=None)
    pay(appointment=appointment, amount="150.00")
    today = timezone.localdate()

    receipt_text = _receipt_text(documents.receipt_get_for_member(member=member, appointment_id=appointment.pk), member)
    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=30), end=today)

    assert "Provider: not recorded" in receipt_text
    assert superbill.providers == [] and superbill.lines[0].fee == Decimal("150.00")
    assert "$150.00 USD" in pdf_text(documents.superbill_pdf(superbill=superbill, practice=PRACTICE))


def test_a_year_of_weekly_sessions_runs_onto_more_pages_with_every_session(member, therapist):
    for week in range(52):
        past_session(member=member, therapist=therapist, days_ago=2 + 7 * week)
    today = timezone.localdate()

    superbill = documents.superbill_for_member(member=member, start=today - datetime.timedelta(days=365), end=today)
    content = documents.superbill_pdf(superbill=superbill, practice=PRACTICE)

    assert len(superbill.lines) == 52
    assert int(re.search(rb"/Count (\d+)", content).group(1)) >= 2  # the page tree's page count
    assert pdf_text(content).count("90837") == 52 and "$9,360.00 USD" in pdf_text(content)


@pytest.mark.parametrize(
    "details",
    [{}, {"card": {"brand": "visa"}}, {"card": {"brand": "visa", "last4": "42x2"}}, {"card": None}, None, ["card"]],
)
def test_a_mirrored_charge_without_a_usable_card_reads_card(member, therapist, details):
    appointment = past_session(member=member, therapist=therapist)
    Charge.objects.create(
        id="ch_odd_card",
        amount=Decimal("180.00"),
        currency="usd",
        status="succeeded",
        livemode=False,
        stripe_data={"payment_method_details": details},
    )
    pay(appointment=appointment, amount="180.00", charge_id="ch_odd_card")

    assert documents.receipt_get_for_member(member=member, appointment_id=appointment.pk).charges[0].method == "Card"


def test_card_labels_are_only_for_her_own_payments(member, therapist):
    from billing.selectors import payment_card_labels

    theirs = past_session(member=UserFactory(), therapist=therapist)
    Charge.objects.create(
        id="ch_theirs",
        amount=Decimal("180.00"),
        currency="usd",
        status="succeeded",
        livemode=False,
        stripe_data={"payment_method_details": {"card": {"brand": "mastercard", "last4": "5555"}}},
    )
    payment = pay(appointment=theirs, amount="180.00", charge_id="ch_theirs")

    assert payment_card_labels(member=theirs.user, payment_ids=[payment.pk]) == {payment.pk: "Mastercard ending 5555"}
    assert payment_card_labels(member=member, payment_ids=[payment.pk]) == {}
