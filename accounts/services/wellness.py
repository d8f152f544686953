"""Wellness check-ins: write or edit any of the last 7 days, and share them with her clinician
(a note that reads like risk raises an alert in the same transaction)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from bloom.exceptions import ApplicationError

from ..models import WELLNESS_SHARE_SOURCE, User, UserProfile, WellnessEntry
from ..selectors.screening import member_today
from .members import consent_switch_set
from .screening import risk_text_review

# How far back she may write or edit a check-in: today and the 7 days before it.
WELLNESS_EDIT_DAYS = 7
# ConsentRecord.source of the "share my check-ins with my clinician" switch; the newest such
# record is the current choice (accounts.selectors.wellness.wellness_share_active).


def wellness_day_check(*, entry_date: datetime.date, today: datetime.date) -> None:
    """Raise ApplicationError (with words for her) unless `entry_date` is today or one of the
    WELLNESS_EDIT_DAYS days before it."""
    if entry_date > today:
        raise ApplicationError("That day hasn't happened yet. Please pick today or one of the last 7 days.")
    if (today - entry_date).days > WELLNESS_EDIT_DAYS:
        raise ApplicationError(
            "Check-ins can be added or changed for today and the 7 days before it. "
            "Older days stay as they are; please pick a more recent day."
        )


def wellness_entry_record(
    *,
    member: User,
    entry_date: datetime.date,
    mood: int,
    sleep_hours: Decimal | None = None,
    anxiety: int | None = None,
    energy: int | None = None,
    support: int | None = None,
    notes: str = "",
    today: datetime.date | None = None,
) -> WellnessEntry:
    """Write the member's check-in for a day: a new one, or her edit of that day's check-in.

    The day must be today (where she lives, `member_today`) or one of the 7 days before it,
    else ApplicationError and nothing is written. Notes that read like risk raise a "needs
    attention" alert in the same transaction, for edits too (`risk_text_review`, at most one
    open alert per entry; the view shows her the crisis resources).
    """
    if today is None:
        today = member_today(profile=UserProfile.objects.filter(user=member).first())
    wellness_day_check(entry_date=entry_date, today=today)
    with transaction.atomic():
        entry, _ = WellnessEntry.objects.update_or_create(
            user=member,
            entry_date=entry_date,
            defaults={
                "mood": mood,
                "sleep_hours": sleep_hours,
                "anxiety": anxiety,
                "energy": energy,
                "support": support,
                "notes": notes,
            },
        )
        risk_text_review(member=member, text=notes, source="wellness_note", source_object_id=str(entry.pk))
    return entry


def wellness_share_set(*, member: User, shared: bool, request=None) -> bool:
    """Share all her check-ins (past and future) with her clinician, or stop sharing them.

    A consent switch (`consent_switch_set`): the newest record from WELLNESS_SHARE_SOURCE decides
    what staff may read. Returns whether anything changed.
    """
    return consent_switch_set(member=member, source=WELLNESS_SHARE_SOURCE, granted=shared, request=request)
