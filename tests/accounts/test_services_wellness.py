"""Wellness services: a check-in for today or any of the 7 days before (back-filled or edited),
refused with a clear message outside that window, the support rating, the risk-text review on
edits, and sharing with her clinician recorded as a consent each time."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import ConsentKind, ConsentRecord, RiskAlert, WellnessEntry
from accounts.selectors import member_today, wellness_share_active
from accounts.services import wellness_entry_record, wellness_share_set
from bloom.exceptions import ApplicationError
from tests.factories.accounts import UserFactory, WellnessEntryFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 20)


def _day(days_ago: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days_ago)


def test_today_and_each_of_the_seven_days_before_can_be_written(member):
    for days_ago in range(8):
        wellness_entry_record(member=member, entry_date=_day(days_ago), mood=3, support=days_ago % 5 + 1, today=TODAY)
    entries = WellnessEntry.objects.filter(user=member).order_by("entry_date")
    assert [e.entry_date for e in entries] == [_day(n) for n in range(7, -1, -1)]
    assert entries.get(entry_date=_day(3)).support == 4


@pytest.mark.parametrize(
    ("days_ago", "message"),
    [
        (8, "Check-ins can be added or changed for today and the 7 days before it."),
        (40, "Check-ins can be added or changed for today and the 7 days before it."),
        (-1, "That day hasn't happened yet."),
    ],
)
def test_a_day_outside_the_window_is_refused_and_nothing_is_written(member, days_ago, message):
    with pytest.raises(ApplicationError) as raised:
        wellness_entry_record(member=member, entry_date=_day(days_ago), mood=3, notes="words", today=TODAY)
    assert message in raised.value.message
    assert not WellnessEntry.objects.exists()


def test_an_old_entry_outside_the_window_cannot_be_edited(member):
    old = WellnessEntryFactory(user=member, entry_date=_day(9), mood=2, notes="as it was")
    with pytest.raises(ApplicationError):
        wellness_entry_record(member=member, entry_date=_day(9), mood=5, notes="changed", today=TODAY)
    old.refresh_from_db()
    assert (old.mood, old.notes) == (2, "as it was")


def test_an_edit_replaces_that_days_check_in(member):
    wellness_entry_record(
        member=member, entry_date=_day(2), mood=2, sleep_hours=Decimal("4.5"), support=1, notes="hard", today=TODAY
    )
    wellness_entry_record(member=member, entry_date=_day(2), mood=4, support=None, notes="", today=TODAY)
    entry = WellnessEntry.objects.get(user=member)
    assert (entry.mood, entry.sleep_hours, entry.support, entry.notes) == (4, None, None, "")


def test_support_outside_one_to_five_is_refused_on_write(member):
    # Encrypted (docs/adr/0330): the field checks the range before encrypting, the database cannot.
    with pytest.raises(ValidationError), transaction.atomic():
        WellnessEntryFactory(user=member, support=6)


def test_today_is_where_she_lives(member):
    """Kiritimati is 14 hours ahead of UTC: her today may be the server's tomorrow."""
    member.profile.timezone = "Pacific/Kiritimati"
    member.profile.save(update_fields=["timezone"])
    her_today = member_today(profile=member.profile)
    wellness_entry_record(member=member, entry_date=her_today, mood=4)
    with pytest.raises(ApplicationError):
        wellness_entry_record(member=member, entry_date=her_today + datetime.timedelta(days=1), mood=4)
    assert list(WellnessEntry.objects.values_list("entry_date", flat=True)) == [her_today]


def test_an_edit_that_adds_risk_words_raises_one_alert(member):
    entry = wellness_entry_record(member=member, entry_date=_day(1), mood=3, notes="A calm day", today=TODAY)
    assert not RiskAlert.objects.exists()
    wellness_entry_record(member=member, entry_date=_day(1), mood=2, notes="I want to harm myself", today=TODAY)
    alert = RiskAlert.objects.get()
    assert (alert.user, alert.source, alert.source_object_id) == (member, "wellness_note", str(entry.pk))
    # Saving it again while that alert waits raises no second one.
    wellness_entry_record(member=member, entry_date=_day(1), mood=2, notes="I want to harm myself", today=TODAY)
    assert RiskAlert.objects.count() == 1


def test_sharing_and_revoking_each_append_a_health_data_consent(member):
    assert wellness_share_active(member=member) is False
    assert wellness_share_set(member=member, shared=True) is True
    assert wellness_share_active(member=member) is True
    assert wellness_share_set(member=member, shared=True) is False  # already shared: nothing written
    assert wellness_share_set(member=member, shared=False) is True
    assert wellness_share_active(member=member) is False
    rows = list(
        ConsentRecord.objects.filter(user=member).order_by("created_at").values_list("kind", "granted", "source")
    )
    assert rows == [
        (ConsentKind.HEALTH_DATA, True, "wellness_share"),
        (ConsentKind.HEALTH_DATA, False, "wellness_share"),
    ]


def test_revoking_what_was_never_shared_writes_nothing(member):
    assert wellness_share_set(member=member, shared=False) is False
    assert not ConsentRecord.objects.filter(source="wellness_share").exists()


def test_one_members_sharing_is_not_anothers(member):
    other = UserFactory()
    wellness_share_set(member=other, shared=True)
    assert wellness_share_active(member=member) is False
