"""Refund requests: member asks, staff approve (full or partial) or deny, Stripe refunds, webhook completes."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from billing import services
from billing.admin import RefundRequestAdmin
from billing.models import PaymentStatus, RefundRequest, RefundStatus
from bloom.exceptions import ApplicationError
from notifications.models import EmailQueue, UserNotification
from tests.billing import stripe_fakes as sf
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


def _paid(amount="100.00"):
    return PaymentIntentFactory(paid=True, amount=Decimal(amount))


def test_partial_approval_refunds_through_stripe_and_keeps_access(fake_stripe, purchases, staff, deliver):
    fake_stripe.refund_status = "pending"
    payment = _paid()
    services.payment_mark_succeeded(payment=payment)  # already paid: no second on_paid
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("60"), reason="Moved")

    approved = services.refund_approve(refund=request, staff=staff, amount=Decimal("25.00"), note="Half the sessions")

    [call] = fake_stripe.creates("/v1/refunds")
    assert call.params["amount"] == "2500"
    assert call.params["payment_intent"] == payment.stripe_payment_intent_id
    assert call.params["metadata[bloom_refund_request_id]"] == str(request.pk)
    assert call.idempotency_key == f"bloom-refund-{request.pk}-2500"
    assert approved.status == RefundStatus.PROCESSING
    assert approved.amount_approved == Decimal("25.00")
    assert approved.decided_by == staff
    assert purchases.refunded == []  # nothing is refunded until Stripe says so

    refund = sf.refund_obj(payment, amount=2500, refund_id=approved.stripe_refund_id, status="succeeded")
    deliver(sf.event("refund.updated", refund))
    deliver(sf.event("charge.refunded", sf.charge_obj(payment, amount_refunded=2500)))

    approved.refresh_from_db()
    payment.refresh_from_db()
    assert approved.status == RefundStatus.REFUNDED
    assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
    assert payment.amount_refunded == Decimal("25.00")
    assert purchases.refunded == [(payment.pk, Decimal("25.00"), False)]
    assert RefundRequest.objects.count() == 1  # the charge webhook added no dashboard refund
    notices = list(UserNotification.objects.filter(user=payment.user).values_list("type", flat=True))
    assert sorted(notices) == ["refund_approved", "refund_completed"]
    staff_mail = EmailQueue.objects.filter(to_email="care-team@bloompsychology.example")
    assert staff_mail.count() == 2
    assert staff_mail.filter(subject__startswith="Refund requested: 60.00 USD").count() == 1
    assert staff_mail.filter(subject__startswith="Refund completed: 25.00 USD").count() == 1
    member_mail = EmailQueue.objects.filter(to_email=payment.user.email)
    assert member_mail.count() == 2
    assert "25.00 USD" in member_mail.get(subject="Your refund has been sent").text_body


def test_full_approval_with_immediate_success_revokes_access(fake_stripe, purchases, staff):
    payment = _paid()
    services.payment_mark_succeeded(payment=payment)
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("100"), reason="x")

    refund = services.refund_approve(refund=request, staff=staff)

    payment.refresh_from_db()
    assert refund.status == RefundStatus.REFUNDED
    assert payment.status == PaymentStatus.REFUNDED
    assert purchases.refunded == [(payment.pk, Decimal("100.00"), True)]
    assert not purchases.access(payment)


def test_approving_twice_refunds_once(fake_stripe, purchases, staff):
    fake_stripe.refund_status = "pending"
    payment = _paid()
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("30"), reason="x")
    services.refund_approve(refund=request, staff=staff)
    with pytest.raises(ApplicationError):
        services.refund_approve(refund=request, staff=staff)
    assert len(fake_stripe.creates("/v1/refunds")) == 1


def test_stripe_refusing_the_refund_leaves_it_approved_and_checking(fake_stripe, purchases, staff):
    """A 400 may come after a refund was made (docs/adr/0036): never marked failed, never re-made."""
    payment = _paid()
    payment.stripe_payment_intent_id = "pi_unknown_to_stripe"
    payment.save()
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("30"), reason="x")
    fake_stripe.handle = _refusing_refunds(fake_stripe.handle)

    with pytest.raises(services.PaymentOutcomeUnknown, match="Stripe did not confirm the refund"):
        services.refund_approve(refund=request, staff=staff)

    request.refresh_from_db()
    assert request.status == RefundStatus.APPROVED
    assert request.failure_message == ""
    check = request.stripe_checks.get()
    assert "charge_already_refunded" in check.last_error and check.settled_at is None
    payment.refresh_from_db()
    assert payment.amount_refunded == 0


def _refusing_refunds(handle):
    def wrapper(method, path, params, key):
        if path == "/v1/refunds":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Already refunded",
                }
            }
        return handle(method, path, params, key)

    return wrapper


def test_deny_tells_the_member_and_calls_nothing(fake_stripe, purchases, staff):
    payment = _paid()
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("30"), reason="x")

    denied = services.refund_deny(refund=request, staff=staff, note="Outside the 14-day window.")

    assert denied.status == RefundStatus.DENIED
    assert fake_stripe.calls == []
    assert purchases.refunded == []
    notice = UserNotification.objects.get(user=payment.user)
    assert (notice.type, notice.message) == ("refund_denied", "Outside the 14-day window.")
    assert "Outside the 14-day window." in EmailQueue.objects.get(to_email=payment.user.email).text_body
    with pytest.raises(ApplicationError):
        services.refund_approve(refund=denied, staff=staff)


def test_requests_cannot_exceed_what_is_left(purchases):
    payment = _paid()
    services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("70"), reason="x")
    with pytest.raises(ApplicationError, match="at most 30.00"):
        services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("31"), reason="x")
    with pytest.raises(ApplicationError):
        services.refund_request_create(member=UserFactory(), payment=payment, amount=Decimal("1"), reason="x")
    assert RefundRequest.objects.count() == 1


def _admin_request(staff, data):
    request = RequestFactory().post("/admin/billing/refundrequest/", data)
    request.user = staff
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_admin_actions_ask_for_confirmation_then_approve_with_the_staff_amount_and_deny(fake_stripe, purchases, staff):
    fake_stripe.refund_status = "pending"
    first, second = _paid(), _paid()
    to_approve = services.refund_request_create(member=first.user, payment=first, amount=Decimal("50"), reason="x")
    to_deny = services.refund_request_create(member=second.user, payment=second, amount=Decimal("50"), reason="x")
    RefundRequest.objects.filter(pk=to_approve.pk).update(amount_approved=Decimal("20"))
    RefundRequest.objects.filter(pk=to_deny.pk).update(decision_note="Not eligible")
    model_admin = RefundRequestAdmin(RefundRequest, admin.site)

    # First the action shows what it will do and changes nothing.
    page = model_admin.approve_refunds(
        _admin_request(staff, {}), RefundRequest.objects.filter(pk=to_approve.pk)
    ).render()
    assert b"Refund these payments through Stripe?" in page.content
    assert b"20.00 USD" in page.content and b'name="confirm" value="yes"' in page.content
    page = model_admin.deny_refunds(_admin_request(staff, {}), RefundRequest.objects.filter(pk=to_deny.pk)).render()
    assert b"Deny these refund requests?" in page.content and b"Not eligible" in page.content
    assert fake_stripe.calls == []
    assert set(RefundRequest.objects.values_list("status", flat=True)) == {RefundStatus.REQUESTED}

    confirmed = {"confirm": "yes"}
    assert (
        model_admin.approve_refunds(_admin_request(staff, confirmed), RefundRequest.objects.filter(pk=to_approve.pk))
        is None
    )
    model_admin.deny_refunds(_admin_request(staff, confirmed), RefundRequest.objects.filter(pk=to_deny.pk))

    to_approve.refresh_from_db()
    to_deny.refresh_from_db()
    assert (to_approve.status, to_approve.amount_approved) == (RefundStatus.PROCESSING, Decimal("20.00"))
    assert fake_stripe.creates("/v1/refunds")[0].params["amount"] == "2000"
    assert (to_deny.status, to_deny.decision_note) == (RefundStatus.DENIED, "Not eligible")
