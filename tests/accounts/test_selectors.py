"""Accounts selectors called directly: member reads fenced by member, the timeline, who staff alerts reach."""

from __future__ import annotations

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from accounts import screening, selectors
from accounts.models import DataRequestKind, DataRequestStatus, ScreeningPointStatus
from tests.factories.accounts import (
    AdminRoleFactory,
    AdminUserFactory,
    DataRequestFactory,
    MemberScreeningPointFactory,
    RiskAlertFactory,
    ScreeningResponseFactory,
    ScreeningSchedulePointFactory,
    UserAchievementFactory,
    UserFactory,
    WellnessEntryFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 1, 6, 30, tzinfo=datetime.UTC)


def _staff(*, role_slug: str | None = None, superuser: bool = False, active: bool = True):
    user = UserFactory(is_staff=True, is_superuser=superuser, is_active=active)
    role = AdminRoleFactory(slug=role_slug, name=role_slug) if role_slug else None
    AdminUserFactory(user=user, role=role)
    return user


def _postpartum(member, *, weeks_ago: int):
    profile = member.profile
    # Three days into the week, so her own date and the server's fall in the same week.
    born = timezone.localdate() - datetime.timedelta(weeks=weeks_ago, days=3)
    profile.stage, profile.baby_birth_date = "postpartum", born
    profile.save()
    week = screening.perinatal_week(stage="postpartum", due_date=None, birth_date=born, on=timezone.localdate())
    return profile, week


def test_profile_and_preferences_get_for_member_read_her_own_rows():
    member = UserFactory()
    assert selectors.profile_get_for_member(member=member).user_id == member.pk
    assert selectors.preferences_get_for_member(member=member).user_id == member.pk


def test_wellness_entry_list_and_today_for_member():
    member = UserFactory()
    today = WellnessEntryFactory(user=member, entry_date=timezone.localdate())
    older = WellnessEntryFactory(user=member, entry_date=timezone.localdate() - datetime.timedelta(days=3))
    WellnessEntryFactory(entry_date=timezone.localdate())
    assert selectors.wellness_entry_list_for_member(member=member) == [today, older]
    assert selectors.wellness_entry_list_for_member(member=member, limit=1) == [today]
    assert selectors.wellness_entry_today_for_member(member=member) == today
    assert selectors.wellness_entry_today_for_member(member=UserFactory()) is None


def test_achievement_list_for_member_is_newest_first():
    member = UserFactory()
    first = UserAchievementFactory(user=member, awarded_at=timezone.now() - datetime.timedelta(days=2))
    second = UserAchievementFactory(user=member)
    UserAchievementFactory()
    assert selectors.achievement_list_for_member(member=member) == [second, first]


def test_data_request_list_and_completed_export_for_member():
    member = UserFactory()
    export = DataRequestFactory(user=member, kind=DataRequestKind.EXPORT, status=DataRequestStatus.COMPLETED)
    pending = DataRequestFactory(user=member, kind=DataRequestKind.DELETE)
    assert {r.pk for r in selectors.data_request_list_for_member(member=member)} == {export.pk, pending.pk}
    assert selectors.data_request_export_get_for_member(member=member, request_id=export.pk) == export
    for who, request_id in ((member, pending.pk), (UserFactory(), export.pk)):
        with pytest.raises(Http404):
            selectors.data_request_export_get_for_member(member=who, request_id=request_id)


def test_member_local_date_uses_her_time_zone_and_falls_back_to_the_default(settings):
    member = UserFactory()
    member.profile.timezone = "Asia/Tokyo"
    assert selectors.member_local_date(profile=member.profile, moment=NOW) == datetime.date(2026, 3, 1)
    member.profile.timezone = "America/Los_Angeles"
    assert selectors.member_local_date(profile=member.profile, moment=NOW) == datetime.date(2026, 2, 28)
    settings.BLOOM_DEFAULT_MEMBER_TIMEZONE = "Asia/Tokyo"
    member.profile.timezone = "Not/AZone"
    assert selectors.member_local_date(profile=member.profile, moment=NOW) == datetime.date(2026, 3, 1)
    assert selectors.member_local_date(profile=None, moment=NOW) == datetime.date(2026, 3, 1)


def test_member_today_is_todays_date_where_she_lives():
    member = UserFactory()
    expected = selectors.member_local_date(profile=member.profile, moment=timezone.now())
    assert selectors.member_today(profile=member.profile) == expected


def test_screening_points_reached_opens_a_point_for_its_window_only():
    profile, week = _postpartum(UserFactory(), weeks_ago=100)
    open_point = ScreeningSchedulePointFactory(week=week - 1, window_weeks=2)
    closed_point = ScreeningSchedulePointFactory(week=week - 3, window_weeks=2)
    reached = selectors.screening_points_reached(
        profile=profile, today=timezone.localdate(), points=[open_point, closed_point]
    )
    assert [point for point, _ in reached] == [open_point]
    assert reached[0][1] == profile.baby_birth_date


def test_screening_due_list_for_member_leaves_out_skipped_points():
    member = UserFactory()
    profile, week = _postpartum(member, weeks_ago=120)
    due = ScreeningSchedulePointFactory(week=week, instrument="epds")
    skipped = ScreeningSchedulePointFactory(week=week, instrument="phq9")
    MemberScreeningPointFactory(
        user=member, point=skipped, anchor_date=profile.baby_birth_date, status=ScreeningPointStatus.SKIPPED
    )
    listed = selectors.screening_due_list_for_member(member=member, profile=profile)
    assert [(item.point, item.instrument.key) for item in listed] == [(due, "epds")]


def test_screening_response_list_get_and_previous_for_member():
    member = UserFactory()
    first = ScreeningResponseFactory(user=member, taken_at=timezone.now() - datetime.timedelta(days=20))
    other_kind = ScreeningResponseFactory(
        user=member, instrument="gad7", taken_at=timezone.now() - datetime.timedelta(days=10)
    )
    latest = ScreeningResponseFactory(user=member)
    ScreeningResponseFactory()
    assert selectors.screening_response_list_for_member(member=member) == [first, other_kind, latest]
    assert selectors.screening_response_list_for_member(member=member, limit=2) == [other_kind, latest]
    assert selectors.screening_response_get_for_member(member=member, response_id=latest.pk) == latest
    with pytest.raises(Http404):
        selectors.screening_response_get_for_member(member=UserFactory(), response_id=latest.pk)
    assert selectors.screening_response_get_previous(response=latest) == first
    assert selectors.screening_response_get_previous(response=first) is None


def test_care_clinician_get_for_member_is_the_active_clinician_on_her_profile():
    member, clinician = UserFactory(), _staff()
    assert selectors.care_clinician_get_for_member(member=member) is None
    member.profile.care_clinician = clinician
    member.profile.save()
    found = selectors.care_clinician_get_for_member(member=member)
    assert (found.user, found.email, found.source) == (clinician, clinician.email, "profile")


def test_risk_alert_open_exists_until_a_clinician_acknowledges():
    alert = RiskAlertFactory()
    assert selectors.risk_alert_open_exists(member=alert.user) is True
    alert.acknowledged_by, alert.acknowledged_at = _staff(), timezone.now()
    alert.save()
    assert selectors.risk_alert_open_exists(member=alert.user) is False


def test_staff_owner_list_is_active_owners_and_superusers_by_email():
    owner, superuser = _staff(role_slug="owner"), _staff(superuser=True)
    _staff(role_slug="owner", active=False)
    _staff(role_slug="on_call")
    assert selectors.staff_owner_list() == sorted([owner, superuser], key=lambda user: user.email)


def test_staff_on_call_list_is_active_on_call_staff_only():
    on_call = _staff(role_slug="on_call")
    _staff(role_slug="owner")
    _staff(role_slug="on_call", active=False)
    assert selectors.staff_on_call_list() == [on_call]


def test_security_alert_recipient_list_falls_back_to_the_care_team_inbox(settings):
    settings.BLOOM_STAFF_ALERT_EMAIL = "care-team@bloom.example"
    assert selectors.security_alert_recipient_list() == ["care-team@bloom.example"]
    owner = _staff(role_slug="owner")
    assert selectors.security_alert_recipient_list() == [owner.email]


def test_risk_alert_recipient_list_prefers_her_clinician_then_on_call_then_owners():
    member = UserFactory()
    owner = _staff(role_slug="owner")
    assert selectors.risk_alert_recipient_list(member=member) == (None, [owner])
    on_call = _staff(role_slug="on_call")
    assert selectors.risk_alert_recipient_list(member=member) == (None, [on_call])
    clinician = _staff()
    member.profile.care_clinician = clinician
    member.profile.save()
    assert selectors.risk_alert_recipient_list(member=member) == (clinician, [clinician])
