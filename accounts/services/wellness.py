"""Wellness check-ins (a note that reads like risk raises an alert in the same transaction)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bloom.exceptions import ApplicationError

from ..models import (
    User,
    WellnessEntry,
)
from .screening import risk_text_review


def wellness_entry_record(
    *,
    member: User,
    entry_date: datetime.date,
    mood: int,
    sleep_hours: Decimal | None = None,
    anxiety: int | None = None,
    energy: int | None = None,
    notes: str = "",
) -> WellnessEntry:
    """Write the member's check-in for a day; a second save that day replaces the first.

    Notes that read like risk raise a "needs attention" alert in the same transaction
    (`risk_text_review`; the view shows her the crisis resources).
    """
    if entry_date > timezone.localdate():
        raise ApplicationError("A wellness entry cannot be for a future day.")
    with transaction.atomic():
        entry, _ = WellnessEntry.objects.update_or_create(
            user=member,
            entry_date=entry_date,
            defaults={"mood": mood, "sleep_hours": sleep_hours, "anxiety": anxiety, "energy": energy, "notes": notes},
        )
        risk_text_review(member=member, text=notes, source="wellness_note", source_object_id=str(entry.pk))
    return entry
