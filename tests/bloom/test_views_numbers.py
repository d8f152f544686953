"""The three views' numbers on rows built only by factories (no services), where the billing and
courses suites leave a gap: course_overview revenue and who counts; what user_course_stats leaves
out; and that every view is read-only in the admin.

Covered elsewhere, not repeated here: user_payment_summary for a member with two paid payments and
one refund (tests/billing/test_models_summary.py); user_course_stats for a member half-way through a course
(tests/courses/test_progress.py and tests/courses/test_admin.py).
"""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import timezone

from billing.models import UserPaymentSummary
from courses.models import CourseOverview, PaymentStatus, ProgressStatus, PublishStatus, UserCourseStats
from tests.factories.accounts import StaffUserFactory
from tests.factories.courses import (
    CourseEnrollmentFactory,
    CourseFactory,
    CourseLessonFactory,
    CourseModuleFactory,
    CourseProgressFactory,
    LessonCompletionDetailFactory,
)

pytestmark = pytest.mark.django_db


def _course_with_four_counted_lessons():
    course = CourseFactory(price=Decimal("49.00"))
    modules = [CourseModuleFactory(course=course) for _ in range(2)]
    counted = [CourseLessonFactory(module=module) for module in modules for _ in range(2)]
    draft = CourseLessonFactory(module=modules[0], status=PublishStatus.DRAFT)
    archived = CourseLessonFactory(module=modules[1], archived_at=timezone.now())
    return course, counted, draft, archived


def test_user_course_stats_counts_published_live_lessons_only():
    course, counted, draft, archived = _course_with_four_counted_lessons()
    enrollment = CourseEnrollmentFactory(course=course)

    def progress(lesson, status, seconds):
        row = CourseProgressFactory(enrollment=enrollment, lesson=lesson, status=status)
        LessonCompletionDetailFactory(progress=row, time_spent_seconds=seconds)

    progress(counted[0], ProgressStatus.COMPLETED, 300)
    progress(counted[1], ProgressStatus.COMPLETED, 240)
    progress(counted[2], ProgressStatus.IN_PROGRESS, 60)
    # Completed, but on lessons a member cannot see: neither counts toward the percentage.
    progress(draft, ProgressStatus.COMPLETED, 10)
    progress(archived, ProgressStatus.COMPLETED, 10)

    stats = UserCourseStats.objects.get(enrollment=enrollment)
    assert (stats.lessons_total, stats.lessons_completed, stats.percent) == (4, 2, 50)
    assert stats.time_spent_seconds == 620  # time is time: every detail row of the enrollment
    assert stats.has_access is True
    assert stats.completed_at is None


def test_user_course_stats_has_one_row_per_enrollment_and_no_access_after_revocation():
    course, *_ = _course_with_four_counted_lessons()
    first = CourseEnrollmentFactory(course=course)
    revoked = CourseEnrollmentFactory(course=course, access_revoked_at=timezone.now())
    CourseEnrollmentFactory(user=first.user)  # the same member in another course: a row of its own

    assert UserCourseStats.objects.filter(user=first.user).count() == 2
    assert UserCourseStats.objects.get(enrollment=revoked).has_access is False
    assert UserCourseStats.objects.get(enrollment=revoked).percent == 0


def test_course_overview_revenue_is_paid_less_refunded_and_counts_members_with_access():
    course, *_ = _course_with_four_counted_lessons()
    CourseEnrollmentFactory(course=course)  # free: counts, no revenue
    CourseEnrollmentFactory(
        course=course,
        payment_status=PaymentStatus.PAID,
        amount_paid=Decimal("49.00"),
        amount_refunded=Decimal("10.00"),
        completed_at=timezone.now(),
    )
    CourseEnrollmentFactory(
        course=course,
        payment_status=PaymentStatus.REFUNDED,
        amount_paid=Decimal("49.00"),
        amount_refunded=Decimal("49.00"),
    )
    CourseEnrollmentFactory(course=course, payment_status=PaymentStatus.PENDING, amount_paid=Decimal("0"))
    CourseEnrollmentFactory(
        course=course, payment_status=PaymentStatus.PAID, amount_paid=Decimal("49.00"), access_revoked_at=timezone.now()
    )
    CourseEnrollmentFactory(payment_status=PaymentStatus.PAID, amount_paid=Decimal("999.00"))  # another course

    overview = CourseOverview.objects.get(course=course)
    assert (overview.modules_count, overview.lessons_count) == (2, 4)
    assert (overview.enrollments_count, overview.completions_count) == (2, 1)
    assert overview.completion_rate == Decimal("50.0")
    # 49 - 10, plus 49 - 49, plus the revoked paid seat's 49 (money kept, access taken away).
    assert overview.revenue == Decimal("88.00")


@pytest.mark.parametrize("model", [UserPaymentSummary, UserCourseStats, CourseOverview])
def test_every_view_is_registered_read_only_in_the_admin(model):
    assert model._meta.managed is False
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = StaffUserFactory(is_superuser=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)
