"""The catalog marks what she holds, and course wording follows her progress (issue 17, point 4)."""

import pytest
from django.urls import reverse

from courses.selectors import course_marks_for_member
from courses.services.progress import course_progress_update
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseEnrollmentFactory

from .conftest import build_course, lessons_of

pytestmark = pytest.mark.django_db


def _finish(member, course, seconds=0):
    for lesson in lessons_of(course):
        course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=seconds)


@pytest.fixture
def three_courses(member):
    finished = build_course(lessons=2, modules=1, title="Finished course")
    started = build_course(lessons=3, modules=1, title="Started course")
    enrolled = build_course(lessons=2, modules=1, title="Enrolled course")
    untouched = build_course(lessons=2, modules=1, title="Other course")
    for course in (finished, started, enrolled):
        CourseEnrollmentFactory(user=member, course=course)
    _finish(member, finished, seconds=400)
    course_progress_update(member=member, lesson=lessons_of(started)[0], completed=True, time_spent_seconds=90)
    return finished, started, enrolled, untouched


def test_marks_for_member(member, three_courses):
    finished, started, enrolled, untouched = three_courses
    marks = course_marks_for_member(member=member)
    assert marks == {finished.pk: "completed", started.pk: "in_progress", enrolled.pk: "enrolled"}
    assert course_marks_for_member(member=UserFactory()) == {}


def test_a_visitor_and_a_revoked_enrollment_get_no_marks(member, three_courses):
    from django.contrib.auth.models import AnonymousUser
    from django.utils import timezone

    finished = three_courses[0]
    assert course_marks_for_member(member=AnonymousUser()) == {}
    from courses.models import CourseEnrollment

    enrollment = CourseEnrollment.objects.get(user=member, course=finished)
    enrollment.access_revoked_at = timezone.now()
    enrollment.save(update_fields=["access_revoked_at"])
    assert finished.pk not in course_marks_for_member(member=member)


def test_catalog_shows_each_mark_in_words(client, member, three_courses):
    client.force_login(member)
    html = client.get(reverse("courses:course_list")).content.decode()
    cards = {
        title: card for card in html.split("<article")[1:] for title in [card.split("</a></h2>")[0].rsplit(">", 1)[-1]]
    }
    assert "You finished this course" in cards["Finished course"]
    assert ">In progress<" in cards["Started course"]
    assert "You are enrolled" in cards["Enrolled course"]
    assert 'class="mark' not in cards["Other course"]


def test_a_finished_course_does_not_say_continue(client, member, three_courses):
    finished, started, *_ = three_courses
    client.force_login(member)
    done = client.get(reverse("courses:course_detail", args=[finished.slug])).content.decode()
    assert "Continue where you left off" not in done
    assert "You finished this course on" in done and "Revisit from the start" in done
    going = client.get(reverse("courses:course_detail", args=[started.slug])).content.decode()
    assert "Continue where you left off" in going


def test_progress_page_time_spent_and_no_continue_once_finished(client, member, three_courses):
    from courses.models import CourseEnrollment

    finished, started, enrolled, _ = three_courses
    client.force_login(member)

    def page(course):
        enrollment = CourseEnrollment.objects.get(user=member, course=course)
        return client.get(reverse("courses:enrollment_detail", args=[enrollment.pk])).content.decode()

    done = page(finished)
    assert "<dd>13 minutes</dd>" in done  # 2 lessons x 400 s
    assert "Continue where you left off" not in done
    assert "<dd>2 minutes</dd>" in page(started)  # 90 s rounds to 2
    assert "<dd>Not recorded yet</dd>" in page(enrolled)


def test_dashboard_panel_offers_revisit_for_a_finished_course(client, member, three_courses):
    client.force_login(member)
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert 'Revisit<span class="visually-hidden">: Finished course</span>' in html
    assert "13 minutes spent" in html
