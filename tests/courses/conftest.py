"""Course fixtures: media in a temporary folder, a course builder, members."""

from __future__ import annotations

from decimal import Decimal

import pytest

from courses.models import CourseLesson
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseFactory, CourseLessonFactory, CourseModuleFactory
from tests.ledger import _ledger_has_no_drift_after_each_test  # noqa: F401 - verify after each test (docs/ledger.md)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def build_course(*, lessons: int = 4, modules: int = 2, price: Decimal = Decimal("0.00"), **kwargs):
    """A published course with `lessons` published lessons spread over `modules` modules."""
    course = CourseFactory(price=price, **kwargs)
    made = [CourseModuleFactory(course=course, position=i) for i in range(modules)]
    for i in range(lessons):
        CourseLessonFactory(module=made[i * modules // lessons], position=i)
    return course


def lessons_of(course) -> list[CourseLesson]:
    return list(
        CourseLesson.objects.filter(module__course=course)
        .select_related("module")
        .order_by("module__position", "position")
    )


@pytest.fixture
def member(db):
    return UserFactory()


@pytest.fixture
def other_member(db):
    return UserFactory()


def notice_types(member) -> list[str]:
    """The types of in-portal notices the member received, oldest first."""
    from notifications.models import UserNotification

    return list(UserNotification.objects.filter(user=member).order_by("created_at").values_list("type", flat=True))


def emails_to(address: str) -> list:
    from notifications.models import EmailQueue

    return list(EmailQueue.objects.filter(to_email=address))
