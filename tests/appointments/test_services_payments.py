"""Appointment fees recorded from billing outcomes (billing/registry.py handlers)."""

from decimal import Decimal

import pytest

from appointments.models import AppointmentPayment
from billing.services import payment_mark_succeeded, payment_refund_apply, payment_status_apply
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.billing import PaymentIntentFactory

pytestmark = pytest.mark.django_db


def _payment(appointment, kind="appointment_session_fee", amount="180.00"):
    return PaymentIntentFactory(kind=kind, object_id=str(appointment.pk), user=appointment.user, amount=Decimal(amount))


def test_paid_session_fee_is_recorded_once():
    appointment = AppointmentDataFactory()
    payment = _payment(appointment)
    payment_mark_succeeded(payment=payment)
    payment_mark_succeeded(payment=payment)
    row = AppointmentPayment.objects.get()
    assert (row.appointment, row.user, row.payment) == (appointment, appointment.user, payment)
    assert (row.kind, row.status, row.amount) == ("session_fee", "captured", Decimal("180.00"))
    assert row.captured_at is not None


def test_full_refund_marks_the_fee_refunded_partial_does_not():
    appointment = AppointmentDataFactory()
    payment = _payment(appointment, kind="appointment_no_show_fee", amount="50.00")
    payment_mark_succeeded(payment=payment)
    payment_refund_apply(payment=payment, total_refunded=Decimal("20.00"))
    assert AppointmentPayment.objects.get().status == "captured"
    payment_refund_apply(payment=payment, total_refunded=Decimal("50.00"))
    row = AppointmentPayment.objects.get()
    assert (row.kind, row.status) == ("no_show_fee", "refunded")


def test_failed_payment_records_nothing():
    from django.utils import timezone

    payment = _payment(AppointmentDataFactory())
    payment_status_apply(payment=payment, status="failed", at=timezone.now(), failure_message="card declined")
    assert not AppointmentPayment.objects.exists()


def test_second_live_fee_of_a_kind_is_not_recorded_and_billing_is_not_rolled_back():
    appointment = AppointmentDataFactory()
    payment_mark_succeeded(payment=_payment(appointment))
    second = _payment(appointment)
    payment_mark_succeeded(payment=second)
    second.refresh_from_db()
    assert second.status == "succeeded"
    assert AppointmentPayment.objects.count() == 1
