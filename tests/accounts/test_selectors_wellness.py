"""Wellness reads: weekly averages over the last weeks (every week listed, gaps left empty, one
query whatever the number of entries), period averages, and what staff may see: only check-ins
she shares now, or an entry whose note raised a risk alert."""

import datetime
from decimal import Decimal

import pytest

from accounts.selectors import (
    member_data_export,
    wellness_averages,
    wellness_entry_staff_queryset,
    wellness_share_active,
    wellness_week_list,
)
from accounts.selectors.wellness import week_start
from accounts.services import wellness_share_set
from tests.factories.accounts import RiskAlertFactory, UserFactory, WellnessEntryFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 19)  # a Thursday
MONDAY = datetime.date(2026, 11, 16)


def _entry(member, days_ago, **values):
    return WellnessEntryFactory(user=member, entry_date=TODAY - datetime.timedelta(days=days_ago), **values)


def test_week_start_is_monday():
    assert week_start(TODAY) == MONDAY
    assert week_start(MONDAY) == MONDAY
    assert week_start(MONDAY - datetime.timedelta(days=1)) == MONDAY - datetime.timedelta(days=7)


def test_twelve_weeks_are_listed_oldest_first_with_empty_weeks(member):
    weeks = wellness_week_list(member=member, today=TODAY)
    assert len(weeks) == 12
    assert weeks[-1].start == MONDAY and weeks[0].start == MONDAY - datetime.timedelta(weeks=11)
    assert all(w.entries == 0 and w.mood is None for w in weeks)


def test_weekly_averages_use_only_the_days_a_measure_was_answered(member):
    _entry(member, 0, mood=4, anxiety=2, energy=None, support=5, sleep_hours=Decimal("6.0"))
    _entry(member, 1, mood=2, anxiety=None, energy=None, support=3, sleep_hours=Decimal("7.5"))
    _entry(member, 7, mood=1, anxiety=5, energy=1, support=1, sleep_hours=None)  # last week
    _entry(member, 7 * 12 + 3, mood=5)  # before the 12 weeks: left out
    _entry(UserFactory(), 0, mood=1)  # another member's
    weeks = wellness_week_list(member=member, today=TODAY)
    this_week, last_week = weeks[-1], weeks[-2]
    assert (this_week.entries, this_week.mood, this_week.anxiety, this_week.energy) == (2, 3.0, 2.0, None)
    assert (this_week.support, this_week.sleep_hours) == (4.0, 6.75)
    assert (last_week.entries, last_week.mood, last_week.sleep_hours) == (1, 1.0, None)
    assert sum(w.entries for w in weeks) == 3
    assert this_week.values == [3.0, 2.0, None, 4.0, 6.75]


def test_the_week_list_is_one_query_for_200_entries(member, django_assert_num_queries):
    for days_ago in range(200):
        _entry(member, days_ago, mood=days_ago % 5 + 1)
    with django_assert_num_queries(1):
        weeks = wellness_week_list(member=member, today=TODAY, weeks=12)
    assert sum(w.entries for w in weeks) == 7 * 11 + 4  # 11 full weeks and Mon-Thu of this one


def test_period_averages(member):
    _entry(member, 0, mood=5, support=None, sleep_hours=Decimal("8.0"))
    _entry(member, 3, mood=2, support=3, sleep_hours=Decimal("5.0"))
    _entry(member, 30, mood=1)
    averages = wellness_averages(member=member, start=TODAY - datetime.timedelta(days=6), end=TODAY)
    assert averages["entries"] == 2
    assert (averages["mood"], averages["support"], averages["sleep_hours"]) == (3.5, 3.0, 6.5)
    empty = wellness_averages(member=UserFactory(), start=TODAY, end=TODAY)
    assert empty["entries"] == 0 and empty["mood"] is None


def test_staff_see_only_check_ins_shared_now(member):
    shared, private = UserFactory(), UserFactory()
    mine = _entry(member, 1)
    theirs = _entry(shared, 1)
    _entry(private, 1)
    wellness_share_set(member=shared, shared=True)
    wellness_share_set(member=member, shared=True)
    assert set(wellness_entry_staff_queryset()) == {mine, theirs}
    wellness_share_set(member=member, shared=False)  # revoked: nothing of hers is left
    assert set(wellness_entry_staff_queryset()) == {theirs}
    assert wellness_share_active(member=member) is False


def test_an_entry_with_a_risk_alert_stays_visible_for_the_review(member):
    flagged = _entry(member, 1, notes="intrusive thoughts about my baby")
    _entry(member, 2)
    RiskAlertFactory(user=member, source="wellness_note", source_object_id=str(flagged.pk))
    assert list(wellness_entry_staff_queryset()) == [flagged]


def test_her_data_export_has_the_support_rating(member):
    _entry(member, 2, support=5, notes="felt held")
    (exported,) = member_data_export(member=member)["wellness_entries"]
    assert (exported["support"], exported["notes"]) == (5, "felt held")
