"""Courses answers the email sequences' "purchased the promoted course" stop condition."""

from datetime import timedelta

import pytest
from django.utils import timezone

from courses.selectors import member_has_purchased_course
from notifications.models import EmailQueue, EmailSequenceEnrollment
from notifications.services import sequence_enrollments_advance, sequence_trigger
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseEnrollmentFactory, CourseFactory
from tests.factories.notifications import EmailSequenceFactory, SequenceEmailFactory

pytestmark = pytest.mark.django_db


def test_purchase_check_counts_only_paid_access_to_the_promoted_course():
    member = UserFactory()
    promoted, other = CourseFactory(), CourseFactory()
    assert not member_has_purchased_course(email=member.email, user=member, context={})

    CourseEnrollmentFactory(user=member, course=other)  # a free enrollment is not a purchase
    assert not member_has_purchased_course(email=member.email, user=member, context={})

    CourseEnrollmentFactory(user=member, course=promoted, payment_status="paid")
    assert member_has_purchased_course(email=member.email, user=None, context={"promoted_course": promoted.slug})
    assert not member_has_purchased_course(email=member.email, user=member, context={"promoted_course": other.slug})

    promoted.enrollments.update(access_revoked_at=timezone.now())  # refunded in full
    assert not member_has_purchased_course(email=member.email, user=member, context={})


def test_a_sequence_stops_once_the_member_buys_the_promoted_course():
    member = UserFactory()
    course = CourseFactory()
    sequence = EmailSequenceFactory(trigger="member_signed_up", stop_conditions=["purchased"])
    SequenceEmailFactory(sequence=sequence, position=1, delay=timedelta(0), subject="Welcome")
    SequenceEmailFactory(sequence=sequence, position=2, delay=timedelta(days=2), subject="Have you seen our course?")
    sequence_trigger(
        trigger="member_signed_up", email=member.email, user=member, context={"promoted_course": course.slug}
    )
    assert EmailQueue.objects.count() == 1

    CourseEnrollmentFactory(user=member, course=course, payment_status="paid")
    sequence_enrollments_advance(now=timezone.now() + timedelta(days=3))

    enrollment = EmailSequenceEnrollment.objects.get(sequence=sequence)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "purchased")
    assert EmailQueue.objects.count() == 1
