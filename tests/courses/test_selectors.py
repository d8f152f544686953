"""Courses selectors called directly: what each returns, and the member fence (another's row is a 404)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from courses import selectors
from courses.models import PaymentStatus, ProgressStatus, PublishStatus
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.courses import (
    CourseCertificateFactory,
    CourseEnrollmentFactory,
    CourseFactory,
    CourseLessonFactory,
    CourseMilestoneFactory,
    CourseModuleFactory,
    CourseProgressFactory,
    CourseResourceFactory,
)

from .conftest import build_course, lessons_of

pytestmark = pytest.mark.django_db


def test_course_list_published_counts_published_lessons_and_minutes():
    course = build_course(lessons=3)
    CourseLessonFactory(module=course.modules.first(), status=PublishStatus.DRAFT, duration_minutes=99)
    CourseFactory(status=PublishStatus.DRAFT)
    CourseFactory(archived_at=timezone.now())

    (listed,) = selectors.course_list_published()

    assert (listed.pk, listed.lessons_count, listed.duration_minutes) == (course.pk, 3, 30)


def test_course_outline_get_marks_completed_and_drip_locked_lessons(member):
    course = CourseFactory()
    open_module = CourseModuleFactory(course=course, position=0)
    later = CourseModuleFactory(course=course, position=1, drip_days=7)
    first = CourseLessonFactory(module=open_module, position=0)
    CourseLessonFactory(module=later, position=0)
    enrollment = CourseEnrollmentFactory(user=member, course=course)
    CourseProgressFactory(enrollment=enrollment, lesson=first, status=ProgressStatus.COMPLETED)

    outline = selectors.course_outline_get(slug=course.slug, member=member)

    assert [(item.lesson.module_id, item.completed, item.locked) for item in outline.lessons] == [
        (open_module.pk, True, False),
        (later.pk, False, True),
    ]
    assert (outline.has_access, outline.percent, outline.staff_preview) == (True, 50, False)


def test_course_outline_get_hides_drafts_from_members_and_shows_them_to_staff_as_a_preview(member):
    draft = CourseFactory(status=PublishStatus.DRAFT)
    with pytest.raises(Http404):
        selectors.course_outline_get(slug=draft.slug, member=member)
    assert selectors.course_outline_get(slug=draft.slug, member=StaffUserFactory()).staff_preview is True


def test_lesson_access_tells_a_pending_payer_why_the_lesson_is_closed(member):
    course = build_course(lessons=1, price=Decimal("49.00"))
    CourseEnrollmentFactory(user=member, course=course, payment_status=PaymentStatus.PENDING, enrolled_at=None)
    outline = selectors.course_outline_get(slug=course.slug, member=member)

    access = selectors.lesson_access_get(outline=outline, item=outline.lessons[0], member=member)

    assert access.allowed is False
    assert access.message == "Your payment for this course has not arrived yet. This page opens once it has."


def test_lesson_page_get_gives_the_page_with_neighbours_or_only_the_refusal(member, other_member):
    course = build_course(lessons=3, modules=1)
    first, second, third = lessons_of(course)
    CourseEnrollmentFactory(user=member, course=course)

    page, access, _ = selectors.lesson_page_get(slug=course.slug, lesson_id=second.pk, member=member)
    assert access.allowed is True
    assert (page.previous.lesson.pk, page.next.lesson.pk) == (first.pk, third.pk)
    assert len(page.slides) == 2

    refused, access, _ = selectors.lesson_page_get(slug=course.slug, lesson_id=second.pk, member=other_member)
    assert (refused, access.allowed) == (None, False)


def test_enrollment_list_for_member_lists_only_their_courses_with_access(member, other_member):
    mine = CourseEnrollmentFactory(user=member)
    CourseEnrollmentFactory(user=member, payment_status=PaymentStatus.REFUNDED, access_revoked_at=timezone.now())
    CourseEnrollmentFactory(user=other_member)

    assert [row.enrollment_id for row in selectors.enrollment_list_for_member(member=member)] == [mine.pk]


@pytest.mark.parametrize(
    ("get", "make", "id_name"),
    [
        (selectors.enrollment_get_for_member, lambda m: CourseEnrollmentFactory(user=m), "enrollment_id"),
        (
            selectors.certificate_get_for_member,
            lambda m: CourseCertificateFactory(enrollment__user=m),
            "certificate_id",
        ),
    ],
    ids=["enrollment_get_for_member", "certificate_get_for_member"],
)
def test_member_reads_are_a_404_for_another_members_row(member, other_member, get, make, id_name):
    row = make(member)
    assert get(member=member, **{id_name: row.pk}) == row
    with pytest.raises(Http404):
        get(member=other_member, **{id_name: row.pk})


def test_enrollment_stats_get_reads_the_user_course_stats_view(member):
    enrollment = CourseEnrollmentFactory(user=member)
    stats = selectors.enrollment_stats_get(enrollment=enrollment)
    assert (stats.enrollment_id, stats.user_id, stats.has_access) == (enrollment.pk, member.pk, True)


def test_resource_get_for_member_follows_the_lessons_drip(member, other_member):
    course = CourseFactory()
    module = CourseModuleFactory(course=course, drip_days=3)
    lesson = CourseLessonFactory(module=module)
    resource = CourseResourceFactory(course=course, lesson=lesson)
    CourseEnrollmentFactory(user=member, course=course)

    with pytest.raises(Http404):
        selectors.resource_get_for_member(member=member, resource_id=resource.pk)
    later = timezone.now() + timedelta(days=4)
    assert selectors.resource_get_for_member(member=member, resource_id=resource.pk, now=later) == resource
    with pytest.raises(Http404):
        selectors.resource_get_for_member(member=other_member, resource_id=resource.pk, now=later)


def test_certificate_for_enrollment_is_none_before_one_is_issued(member):
    certificate = CourseCertificateFactory(enrollment__user=member)
    assert selectors.certificate_get_for_enrollment(enrollment=certificate.enrollment) == certificate
    assert selectors.certificate_get_for_enrollment(enrollment=CourseEnrollmentFactory(user=member)) is None


def test_certificate_get_by_code_finds_only_that_code():
    certificate = CourseCertificateFactory()
    assert selectors.certificate_get_by_code(code=certificate.verification_code) == certificate
    with pytest.raises(Http404):
        selectors.certificate_get_by_code(code=certificate.verification_code + "x")


def test_milestone_percents_for_enrollment_are_in_order(member):
    enrollment = CourseEnrollmentFactory(user=member)
    for percent in (75, 25, 50):
        CourseMilestoneFactory(enrollment=enrollment, percent=percent)
    assert selectors.milestone_percent_list_for_enrollment(enrollment=enrollment) == [25, 50, 75]


def test_member_has_purchased_course_counts_paid_access_to_the_promoted_course_only():
    buyer = UserFactory()
    course = CourseFactory(price=Decimal("49.00"))
    CourseEnrollmentFactory(user=buyer, course=course, payment_status=PaymentStatus.PAID)

    assert selectors.member_has_purchased_course(email="", user=buyer) is True
    assert selectors.member_has_purchased_course(email=buyer.email.upper(), user=None) is True
    assert (
        selectors.member_has_purchased_course(email="", user=buyer, context={"promoted_course": "another-course"})
        is False
    )
    assert selectors.member_has_purchased_course(email="", user=None) is False
