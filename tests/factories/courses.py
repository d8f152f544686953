"""Factories for courses models (valid related rows by default)."""

from __future__ import annotations

import secrets
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from courses.models import (
    Course,
    CourseActivityLog,
    CourseCertificate,
    CourseContentVersion,
    CourseDiscountCode,
    CourseEnrollment,
    CourseLesson,
    CourseMilestone,
    CourseModule,
    CourseProgress,
    CourseResource,
    CourseUser,
    DiscountType,
    LessonCompletionDetail,
    PaymentStatus,
    ProgressStatus,
    PublishStatus,
)
from tests.factories.accounts import UserFactory


class CourseFactory(factory.django.DjangoModelFactory):
    """A published free course; `CourseFactory(price=Decimal("49.00"))` is a paid one."""

    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    subtitle = "A calm, practical course."
    description = "What you will learn."
    price = Decimal("0.00")
    status = PublishStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class CourseModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseModule

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Module {n}")
    position = factory.Sequence(lambda n: n)


class CourseLessonFactory(factory.django.DjangoModelFactory):
    """A published lesson with two slides."""

    class Meta:
        model = CourseLesson

    module = factory.SubFactory(CourseModuleFactory)
    title = factory.Sequence(lambda n: f"Lesson {n}")
    slides = factory.LazyFunction(lambda: ["<h2>One</h2><p>First slide.</p>", "<h2>Two</h2><p>Second slide.</p>"])
    duration_minutes = 10
    position = factory.Sequence(lambda n: n)
    status = PublishStatus.PUBLISHED


class CourseResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseResource

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Worksheet {n}")
    file = factory.LazyFunction(lambda: ContentFile(b"worksheet body", name="worksheet.txt"))


class CourseContentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseContentVersion

    lesson = factory.SubFactory(CourseLessonFactory)
    version_number = factory.Sequence(lambda n: n + 1)
    snapshot = factory.LazyAttribute(lambda o: {"title": o.lesson.title, "slides": o.lesson.slides, "video_url": ""})


class CourseUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseUser

    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    name = "Legacy Buyer"
    course = factory.SubFactory(CourseFactory, price=Decimal("49.00"))
    amount_paid = Decimal("49.00")
    source = "legacy-shop"


class CourseEnrollmentFactory(factory.django.DjangoModelFactory):
    """An enrollment with access (free), enrolled now."""

    class Meta:
        model = CourseEnrollment

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    payment_status = PaymentStatus.FREE
    enrolled_at = factory.LazyFunction(timezone.now)


class CourseDiscountCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseDiscountCode

    code = factory.Sequence(lambda n: f"CODE{n}")
    discount_type = DiscountType.PERCENTAGE
    discount_value = Decimal("20.00")
    course = None
    valid_from = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=1))


class CourseProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseProgress

    enrollment = factory.SubFactory(CourseEnrollmentFactory)
    user = factory.SelfAttribute("enrollment.user")
    lesson = factory.SubFactory(CourseLessonFactory, module__course=factory.SelfAttribute("...enrollment.course"))
    status = ProgressStatus.IN_PROGRESS


class LessonCompletionDetailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LessonCompletionDetail

    progress = factory.SubFactory(CourseProgressFactory)
    time_spent_seconds = 120


class CourseMilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseMilestone

    enrollment = factory.SubFactory(CourseEnrollmentFactory)
    user = factory.SelfAttribute("enrollment.user")
    percent = 25


class CourseActivityLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseActivityLog

    enrollment = factory.SubFactory(CourseEnrollmentFactory)
    user = factory.SelfAttribute("enrollment.user")
    activity_type = "lesson_viewed"


class CourseCertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseCertificate

    enrollment = factory.SubFactory(CourseEnrollmentFactory, completed_at=factory.LazyFunction(timezone.now))
    user = factory.SelfAttribute("enrollment.user")
    course = factory.SelfAttribute("enrollment.course")
    verification_code = factory.LazyFunction(lambda: secrets.token_urlsafe(18))
    certificate_name = "Maya Example"
    completed_at = factory.LazyFunction(timezone.now)
