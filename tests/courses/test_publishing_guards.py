"""Publishing guards for courses and discount codes (issue 14 point 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from bloom.exceptions import ApplicationError
from courses import services
from courses.models import CourseDiscountCode, DiscountType, PublishStatus
from tests.bloom.support_admin_forms import admin_form_data
from tests.courses.conftest import build_course
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseFactory, CourseLessonFactory, CourseModuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _draft(**kwargs):
    return CourseFactory(status=PublishStatus.DRAFT, published_at=None, **kwargs)


# --- A course without a published lesson does not publish --------------------------------------


def test_a_course_with_no_lessons_is_refused_and_stays_a_draft():
    course = _draft(title="Birth prep")
    with pytest.raises(ApplicationError) as caught:
        services.course_publish(course=course)
    assert caught.value.message.startswith('"Birth prep" has no published lessons yet')
    course.refresh_from_db()
    assert course.status == PublishStatus.DRAFT and course.published_at is None


@pytest.mark.parametrize(
    "lesson",
    [
        {"status": PublishStatus.DRAFT},  # only a draft lesson
        {"archived": True},  # only an archived lesson
        {"module_archived": True},  # a published lesson in an archived module
    ],
)
def test_lessons_members_cannot_see_do_not_count(lesson):
    course = _draft()
    module = CourseModuleFactory(course=course)
    if lesson.get("module_archived"):
        CourseLessonFactory(module=module)
        module.archive()
    else:
        made = CourseLessonFactory(module=module, status=lesson.get("status", PublishStatus.PUBLISHED))
        if lesson.get("archived"):
            made.archive()
    assert course.published_lesson_count() == 0
    with pytest.raises(ApplicationError):
        services.course_publish(course=course)


def test_a_course_with_one_published_lesson_publishes():
    course = build_course(lessons=1, modules=1, status=PublishStatus.DRAFT, published_at=None)
    services.course_publish(course=course)
    course.refresh_from_db()
    assert course.status == PublishStatus.PUBLISHED and course.published_at is not None


def test_publish_action_asks_first_then_refuses_the_empty_course_by_name(owner_client):
    empty = _draft(title="Empty course")
    ready = build_course(lessons=1, modules=1, status=PublishStatus.DRAFT, published_at=None, title="Ready course")
    url = reverse("admin:courses_course_changelist")
    selection = {"action": "publish", "_selected_action": [str(empty.pk), str(ready.pk)]}
    page = owner_client.post(url, selection)
    assert page.status_code == 200 and "Publish these courses?" in page.content.decode()
    counts = {row[0]: row[1][2] for row in page.context["rows"]}
    assert counts == {empty: 0, ready: 1}
    ready.refresh_from_db()
    assert ready.status == PublishStatus.DRAFT  # the first POST changes nothing
    response = owner_client.post(url, {**selection, "confirm": "yes"}, follow=True)
    texts = [str(message) for message in response.context["messages"]]
    assert "1 course published." in texts
    assert any(text.startswith('Empty course: "Empty course" has no published lessons yet') for text in texts)
    empty.refresh_from_db()
    ready.refresh_from_db()
    assert (empty.status, ready.status) == (PublishStatus.DRAFT, PublishStatus.PUBLISHED)
    logged = LogEntry.objects.get()  # the staff change is audited (mirrored into admin_activity_log)
    assert (logged.object_id, logged.change_message) == (str(ready.pk), "Published")


def test_change_form_refuses_published_status_on_the_status_field_keeping_the_typing(owner_client):
    course = _draft(title="Postpartum basics")
    url = reverse("admin:courses_course_change", args=[course.pk])
    response = owner_client.post(
        url, admin_form_data(owner_client.get(url), title="Postpartum basics, 2nd ed.", status="published")
    )
    assert response.status_code == 200
    assert (
        response.context["adminform"]
        .form.errors["status"][0]
        .startswith('"Postpartum basics, 2nd ed." has no published lessons yet')
    )
    assert 'value="Postpartum basics, 2nd ed."' in response.content.decode()
    course.refresh_from_db()
    assert (course.title, course.status) == ("Postpartum basics", PublishStatus.DRAFT)


def test_editing_a_course_already_published_is_not_blocked(owner_client):
    course = CourseFactory(title="Old course")  # published before the guard existed, no lessons
    url = reverse("admin:courses_course_change", args=[course.pk])
    response = owner_client.post(url, admin_form_data(owner_client.get(url), title="Old course (renamed)"))
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.title == "Old course (renamed)"


# --- Discounts: no more than the price, no more than 100 percent -------------------------------


def test_a_fixed_discount_above_the_course_price_is_refused_on_the_value():
    course = CourseFactory(title="Calm pregnancy", price=Decimal("49.00"))
    code = CourseDiscountCode(code="big150", discount_type=DiscountType.FIXED, discount_value=150, course=course)
    with pytest.raises(ValidationError) as caught:
        services.discount_code_save(code=code)
    assert caught.value.message_dict["discount_value"] == [
        'A fixed discount of 150 is more than the price of "Calm pregnancy" (49.00). '
        "Enter at most 49.00, or use a percentage."
    ]
    assert not CourseDiscountCode.objects.exists()


def test_a_fixed_discount_equal_to_the_price_is_allowed():
    course = CourseFactory(price=Decimal("49.00"))
    code = services.discount_code_save(
        code=CourseDiscountCode(code="free49", discount_type=DiscountType.FIXED, discount_value=49, course=course)
    )
    assert code.pk is not None and code.code == "FREE49"


def test_a_fixed_discount_for_every_course_is_capped_by_the_dearest_course():
    CourseFactory(price=Decimal("49.00"))
    CourseFactory(price=Decimal("120.00"))
    code = CourseDiscountCode(code="all", discount_type=DiscountType.FIXED, discount_value=Decimal("150.00"))
    with pytest.raises(ValidationError) as caught:
        services.discount_code_save(code=code)
    assert "the dearest is 120.00" in caught.value.message_dict["discount_value"][0]
    code.discount_value = Decimal("100.00")
    assert services.discount_code_save(code=code).pk is not None


def test_a_percentage_over_100_is_refused_with_the_sentence_not_the_constraint_name():
    code = CourseDiscountCode(code="huge", discount_type=DiscountType.PERCENTAGE, discount_value=150)
    with pytest.raises(ValidationError) as caught:
        services.discount_code_save(code=code)
    assert caught.value.message_dict["discount_value"] == ["A percentage discount cannot be more than 100."]


def test_discount_admin_form_shows_both_refusals_on_the_value_field(owner_client):
    course = CourseFactory(price=Decimal("49.00"))
    url = reverse("admin:courses_coursediscountcode_add")
    base = admin_form_data(owner_client.get(url), code="SPRING", course=str(course.pk))
    fixed = owner_client.post(url, {**base, "discount_type": "fixed", "discount_value": "150"})
    assert fixed.status_code == 200
    assert "is more than the price" in fixed.context["adminform"].form.errors["discount_value"][0]
    assert "SPRING</textarea>" in fixed.content.decode()  # what was typed is kept
    percent = owner_client.post(url, {**base, "discount_type": "percentage", "discount_value": "150"})
    assert percent.context["adminform"].form.errors["discount_value"] == [
        "A percentage discount cannot be more than 100."
    ]
    assert "course_discount_codes_percent_max_100" not in percent.content.decode()
    assert not CourseDiscountCode.objects.exists()
    ok = owner_client.post(url, {**base, "discount_type": "fixed", "discount_value": "20"})
    assert ok.status_code == 302 and CourseDiscountCode.objects.get().code == "SPRING"
