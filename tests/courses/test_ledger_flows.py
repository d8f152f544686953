"""A member's access to a course, granted and taken away, is a trail in the event ledger (docs/ledger.md)."""

from decimal import Decimal

import pytest

from billing import services as billing_services
from billing.models import PaymentIntent
from bloom.ledger import LedgerEvent
from courses.models import CourseEnrollment
from courses.services import enrollment_access_restore, enrollment_access_revoke, enrollment_start
from tests.billing.stripe_fakes import FakeStripeServer
from tests.courses.conftest import build_course
from tests.factories.accounts import UserFactory
from tests.ledger import events_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stripe(settings):
    with FakeStripeServer() as fake:
        settings.STRIPE_API_BASE = fake.url
        yield fake


def test_grant_revoke_restore_and_refund_of_access_are_events(member, fake_stripe):
    staff = UserFactory(is_staff=True)
    course = build_course(price=Decimal("80.00"))
    enrollment_start(member=member, course=course, success_url="/done/", cancel_url="http://testserver/back/")
    enrollment = CourseEnrollment.objects.get(user=member, course=course)
    payment = PaymentIntent.objects.get(kind="course_enrollment", object_id=str(enrollment.pk))

    billing_services.payment_mark_succeeded(payment=payment)
    assert enrollment_access_revoke(enrollment=enrollment, staff=staff, reason="Lost dispute")
    assert not enrollment_access_revoke(enrollment=enrollment, staff=staff, reason="Again")  # nothing to end
    assert enrollment_access_restore(enrollment=enrollment, staff=staff)
    billing_services.payment_refund_apply(payment=payment, total_refunded=Decimal("80.00"))

    assert events_of(enrollment) == [
        ("created", None, "pending"),
        ("changed", "pending", "paid"),
        ("changed", "paid", "paid/revoked"),
        ("changed", "paid/revoked", "paid"),
        ("changed", "paid", "refunded/revoked"),
    ]
    last = LedgerEvent.objects.filter(entity_id=enrollment.pk).last()
    assert (last.amount, last.amount_refunded, last.subject_id) == (Decimal("80.00"), Decimal("80.00"), member.pk)
    assert events_of(payment)[-1] == ("changed", "succeeded", "refunded")
