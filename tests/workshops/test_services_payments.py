"""Billing reports payment outcomes for kind "workshop_registration" through the registry."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.models import PaymentStatus as BillingStatus
from billing.registry import purchase_kind_get
from billing.services import payment_mark_succeeded, payment_refund_apply, payment_status_apply
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory
from tests.factories.workshops import WorkshopFactory
from workshops import services
from workshops.models import PaymentStatus, RegistrationStatus, WaitlistStatus, WorkshopWaitlistEntry

pytestmark = pytest.mark.django_db


def _paid_seat(capacity=1):
    workshop = WorkshopFactory(capacity=capacity, price=Decimal("40.00"))
    member = UserFactory()
    registration = services.registration_create(member=member, workshop=workshop)
    payment = PaymentIntentFactory(
        user=member, kind="workshop_registration", object_id=str(registration.pk), amount=Decimal("40.00")
    )
    return workshop, registration, payment


def test_kind_is_registered_with_billing():
    kind = purchase_kind_get("workshop_registration")
    assert kind is not None
    assert kind.on_paid is services.registration_payment_succeeded
    assert kind.on_refunded is services.registration_payment_refunded


def test_payment_succeeded_confirms_the_seat_once():
    _, registration, payment = _paid_seat()
    payment_mark_succeeded(payment=payment)
    payment_mark_succeeded(payment=payment)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REGISTERED
    assert registration.payment_status == PaymentStatus.PAID
    assert registration.payment_id == payment.pk


def test_failed_payment_releases_the_seat_to_the_waitlist():
    workshop, registration, payment = _paid_seat()
    waiting = services.registration_create(member=UserFactory(), workshop=workshop)
    payment_status_apply(payment=payment, status=BillingStatus.FAILED, at=datetime.now(UTC))
    registration.refresh_from_db()
    assert (registration.status, registration.payment_status) == (RegistrationStatus.CANCELLED, PaymentStatus.FAILED)
    assert WorkshopWaitlistEntry.objects.get(registration=waiting).status == WaitlistStatus.OFFERED


def test_full_refund_cancels_and_partial_refund_does_not():
    _, registration, payment = _paid_seat()
    payment_mark_succeeded(payment=payment)
    payment_refund_apply(payment=payment, total_refunded=Decimal("10.00"))
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REGISTERED

    payment_refund_apply(payment=payment, total_refunded=Decimal("40.00"))
    registration.refresh_from_db()
    assert (registration.status, registration.payment_status) == (RegistrationStatus.CANCELLED, PaymentStatus.REFUNDED)


def test_late_payment_re_seats_a_released_registration_when_a_seat_is_free():
    _, registration, payment = _paid_seat(capacity=2)
    services.registration_cancel(registration=registration)
    payment_mark_succeeded(payment=payment)
    registration.refresh_from_db()
    assert (registration.status, registration.payment_status) == (RegistrationStatus.REGISTERED, PaymentStatus.PAID)


def test_late_payment_for_a_taken_seat_stays_cancelled_for_a_refund():
    workshop, registration, payment = _paid_seat(capacity=1)
    services.registration_cancel(registration=registration)
    services.registration_create(member=UserFactory(), workshop=workshop)
    payment_mark_succeeded(payment=payment)
    registration.refresh_from_db()
    assert (registration.status, registration.payment_status) == (RegistrationStatus.CANCELLED, PaymentStatus.PAID)


def test_member_cancelling_a_paid_seat_files_a_refund_request():
    _, registration, payment = _paid_seat()
    payment_mark_succeeded(payment=payment)
    registration.refresh_from_db()
    services.registration_cancel(registration=registration, refund_reason="Cannot come")
    refund = payment.refund_requests.get()
    assert refund.amount_requested == Decimal("40.00") and refund.user == registration.user
    services.registration_cancel(registration=registration, refund_reason="Cannot come")
    assert payment.refund_requests.count() == 1


def test_staff_cancel_files_no_refund_request():
    _, registration, payment = _paid_seat()
    payment_mark_succeeded(payment=payment)
    registration.refresh_from_db()
    services.registration_cancel(registration=registration)
    assert not payment.refund_requests.exists()
