"""'Enroll and pay' when Stripe fails: through the real view, with Stripe failing at the HTTP boundary.

Starting a checkout charges nothing: whatever went wrong (refused connection, no answer in
time, 500, 429, 400, 402, an unreadable answer), the member is told so in Bloom's words on
the same page, with the button to try again; the payment row is canceled at once (kept for
staff, hidden from the member), and the enrollment does not wait for a payment that never began.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import PaymentIntent, PaymentStatus
from billing.services import PROVIDER_UNREACHABLE
from courses.models import CourseEnrollment
from courses.models import PaymentStatus as EnrollmentStatus
from tests.billing.stripe_fakes import (
    FAILURES,
    assert_no_provider_text,
    queued_email_texts,
    running_fake_stripe,
    stripe_breaks,
    stripe_mends,
)
from tests.courses.conftest import build_course
from tests.factories.courses import CourseDiscountCodeFactory

pytestmark = pytest.mark.django_db

PRICE = Decimal("80.00")
MESSAGE = PROVIDER_UNREACHABLE.replace("'", "&#x27;")


@pytest.fixture
def fake_stripe(settings):
    with running_fake_stripe(settings) as fake:
        yield fake


@pytest.mark.parametrize("failure", FAILURES)
def test_enroll_and_pay_with_stripe_failing_says_nothing_was_charged_and_offers_a_retry(
    client, member, fake_stripe, settings, failure
):
    course = build_course(price=PRICE)
    code = CourseDiscountCodeFactory(code="SPRING20", course=course)
    client.force_login(member)
    stripe_breaks(fake_stripe, settings, failure, path="/v1/checkout/sessions")

    response = client.post(reverse("courses:course_enroll", args=[course.slug]), {"discount_code": "SPRING20"})

    assert response.status_code == 200
    page = response.content.decode()
    assert MESSAGE in page
    assert "Enroll and pay</button>" in page
    assert 'value="SPRING20"' in page  # what the member typed is kept
    assert_no_provider_text(fake_stripe, page, *queued_email_texts())
    payment = PaymentIntent.objects.get(user=member)
    assert payment.status == PaymentStatus.CANCELED  # kept for staff, never left awaiting payment
    assert payment.metadata["checkout_error"]  # what Stripe said, for staff
    assert_no_provider_text(fake_stripe, payment.failure_message)
    assert not PaymentIntent.objects.filter(status=PaymentStatus.REQUIRES_PAYMENT).exists()
    enrollment = CourseEnrollment.objects.get(user=member, course=course)
    assert enrollment.payment_status == EnrollmentStatus.FAILED and not enrollment.has_access
    code.refresh_from_db()
    assert code.uses_count == 0
    billing_page = client.get(reverse("billing:billing_home")).content.decode()
    assert "No payments yet." in billing_page  # a checkout that never started is not listed
    assert MESSAGE not in billing_page  # the message was shown once

    stripe_mends(fake_stripe, settings)
    retry = client.post(reverse("courses:course_enroll", args=[course.slug]), {"discount_code": "SPRING20"})

    assert retry.status_code == 302 and retry["Location"].startswith("https://checkout.stripe.com/")
    started = PaymentIntent.objects.filter(user=member).exclude(pk=payment.pk).get()
    assert started.status == PaymentStatus.REQUIRES_PAYMENT and started.stripe_checkout_session_id
    enrollment.refresh_from_db()
    assert enrollment.payment_status == EnrollmentStatus.PENDING
