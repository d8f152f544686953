"""Reads for screening and crisis routing. Member reads take the member and filter by it."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .. import risk, screening
from ..models import (
    MemberScreeningPoint,
    RiskAlert,
    ScreeningPointStatus,
    ScreeningResponse,
    ScreeningSchedulePoint,
    User,
    UserProfile,
)
from .members import profile_get_for_member
from .staff import staff_on_call_list, staff_owner_list


def member_local_date(*, profile: UserProfile | None, moment: datetime.datetime) -> datetime.date:
    """The date `moment` falls on where the member lives (her profile's time zone)."""
    name = getattr(profile, "timezone", "") or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
    return moment.astimezone(zone).date()


def member_today(*, profile: UserProfile | None) -> datetime.date:
    """Today's date where the member lives, also outside a request (beat tasks)."""
    return member_local_date(profile=profile, moment=timezone.now())


def screening_points_reached(
    *, profile: UserProfile, today: datetime.date, points: list[ScreeningSchedulePoint] | None = None
) -> list[tuple[ScreeningSchedulePoint, datetime.date]]:
    """The active schedule points open for her today, each with the date her timeline counts from.

    A point is open from its week until `window_weeks` later. `points` (all active points)
    may be passed by a caller going through many members; otherwise one query.
    """
    anchor = screening.timeline_anchor(
        stage=profile.stage, due_date=profile.due_date, birth_date=profile.baby_birth_date
    )
    week = screening.perinatal_week(
        stage=profile.stage, due_date=profile.due_date, birth_date=profile.baby_birth_date, on=today
    )
    if anchor is None or week is None:
        return []
    if points is None:
        points = list(ScreeningSchedulePoint.objects.filter(is_active=True, stage=profile.stage, week__lte=week))
    return [
        (point, anchor)
        for point in points
        if point.is_active and point.stage == profile.stage and point.week <= week < point.week + point.window_weeks
    ]


@dataclass(frozen=True)
class DueScreening:
    point: ScreeningSchedulePoint
    anchor_date: datetime.date
    instrument: screening.Instrument


def screening_due_list_for_member(
    *, member: User, profile: UserProfile, today: datetime.date | None = None
) -> list[DueScreening]:
    """Screenings offered to her now: open points she has neither skipped nor completed (two queries)."""
    reached = screening_points_reached(profile=profile, today=today or member_today(profile=profile))
    if not reached:
        return []
    closed = set(
        MemberScreeningPoint.objects.filter(
            user=member, point__in=[point for point, _ in reached], anchor_date=reached[0][1]
        )
        .exclude(status=ScreeningPointStatus.DUE)
        .values_list("point_id", flat=True)
    )
    return [
        DueScreening(point=point, anchor_date=anchor, instrument=screening.INSTRUMENTS[point.instrument])
        for point, anchor in reached
        if point.pk not in closed
    ]


def screening_response_list_for_member(*, member: User, limit: int | None = None) -> list[ScreeningResponse]:
    """Her responses, oldest first (the timeline's order), without decrypting the answers (one query)."""
    queryset = ScreeningResponse.objects.filter(user=member).defer("answers").order_by("taken_at", "id")
    if limit is not None:
        return list(queryset.reverse()[:limit])[::-1]
    return list(queryset)


def screening_response_get_for_member(*, member: User, response_id) -> ScreeningResponse:
    """One of her responses; another member's (or none) is a 404."""
    return get_object_or_404(ScreeningResponse, pk=response_id, user=member)


def screening_response_get_previous(*, response: ScreeningResponse) -> ScreeningResponse | None:
    """Her response to the same questionnaire just before this one, if any."""
    return (
        ScreeningResponse.objects.filter(
            user_id=response.user_id, instrument=response.instrument, taken_at__lt=response.taken_at
        )
        .defer("answers")
        .order_by("-taken_at")
        .first()
    )


def care_clinician_get_for_member(*, member: User) -> risk.CareClinician | None:
    """Who looks after her: the clinician assigned on her profile, else what a registered
    lookup answers (appointments: the therapist of her next or latest session), else None.
    Her profile is the one loaded with her (`profile_get_for_member`): a query only for the
    clinician, when one is assigned."""
    profile = profile_get_for_member(member=member)
    assigned = profile.care_clinician if profile is not None and profile.care_clinician_id else None
    if assigned is not None and assigned.is_active:
        return risk.CareClinician(name=assigned.get_full_name(), user=assigned, email=assigned.email, source="profile")
    for lookup in risk.clinician_lookups():
        found = lookup(member=member)
        if found is not None:
            return found
    return None


def risk_alert_open_exists(*, member: User) -> bool:
    """Whether one of her alerts is waiting for a clinician (so the care team has been told)."""
    return RiskAlert.objects.filter(user=member, acknowledged_at__isnull=True).exists()


def risk_alert_recipient_list(*, member: User) -> tuple[User | None, list[User]]:
    """(her clinician, who is alerted): her clinician's login when she has an active one; else
    the on-call role's members; else the owners. An empty list means the care-team inbox."""
    clinician = care_clinician_get_for_member(member=member)
    user = getattr(clinician, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return user, [user]
    return None, staff_on_call_list() or staff_owner_list()
