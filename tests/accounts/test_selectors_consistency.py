"""Weekly consistency: weeks she showed up are counted, never chained; a quiet week takes nothing away."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import consistency_get
from courses.models import ProgressStatus
from tests.factories.accounts import UserFactory, WellnessEntryFactory
from tests.factories.courses import CourseEnrollmentFactory, CourseLessonFactory, CourseProgressFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 2)  # a Wednesday
MONDAY = datetime.date(2026, 11, 30)


def _weeks_ago(weeks: int, day: int = 0) -> datetime.date:
    return MONDAY - datetime.timedelta(weeks=weeks) + datetime.timedelta(days=day)


def test_no_activity_is_eight_quiet_weeks_and_nothing_is_owed():
    result = consistency_get(member=UserFactory(), today=TODAY)
    assert result.kept == 0 and len(result.weeks) == 8
    assert result.weeks[0].starts_on == _weeks_ago(7) and result.weeks[-1].starts_on == MONDAY


def test_one_day_keeps_the_whole_week_and_quiet_weeks_do_not_undo_the_others():
    member = UserFactory()
    for day in (_weeks_ago(7, 2), _weeks_ago(5, 0), _weeks_ago(5, 6), _weeks_ago(1, 3), TODAY):
        WellnessEntryFactory(user=member, entry_date=day)
    WellnessEntryFactory(user=member, entry_date=_weeks_ago(8, 6))  # before the window
    result = consistency_get(member=member, today=TODAY)
    assert [week.active_days for week in result.weeks] == [1, 0, 2, 0, 0, 0, 1, 1]
    # Four weeks kept: counted, not a streak broken by the quiet weeks between them.
    assert result.kept == 4


def test_a_lesson_counts_as_showing_up(settings):
    member = UserFactory()
    enrollment = CourseEnrollmentFactory(user=member)
    CourseProgressFactory(
        user=member, enrollment=enrollment, lesson=CourseLessonFactory(), status=ProgressStatus.COMPLETED
    )
    result = consistency_get(member=member)
    assert result.kept == 1 and result.weeks[-1].active_days == 1


def test_the_dashboard_says_what_she_did_not_what_she_missed(client):
    member = UserFactory()
    member.profile.onboarding_completed = True
    member.profile.save()
    client.force_login(member)
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert "one check-in or one lesson counts for the whole week" in html
    WellnessEntryFactory(user=member, entry_date=timezone.localdate())
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert "You showed up in 1 of the last 8 weeks." in html
    assert html.count('class="week-kept"') == 1 and html.count('class="week-quiet"') == 7
