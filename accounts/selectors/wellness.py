"""Reads for wellness check-ins: one day's entry, weekly averages for the trend charts and the
PDF summary, and whether she shares her check-ins with her clinician. Each is a fixed number
of queries, whatever the number of entries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import CharField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast

from ..care_team import members_in_care_q
from ..models import WELLNESS_SHARE_SOURCE, ConsentRecord, RiskAlert, RiskSource, User, WellnessEntry
from .members import consent_switch_get

# The measures on the charts, in the order they are drawn and tabled: (field, label, scale).
WELLNESS_MEASURES = (
    ("mood", "Mood", "1 very low to 5 very good"),
    ("anxiety", "Anxiety", "1 calm to 5 very anxious"),
    ("energy", "Energy", "1 exhausted to 5 energetic"),
    ("support", "Support", "1 alone to 5 well supported"),
    ("sleep_hours", "Sleep", "hours a night"),
)


@dataclass(frozen=True)
class WellnessWeek:
    """One week (Monday to Sunday) of her check-ins: how many, and the average of each measure
    over the days she answered it (None when she answered it on no day that week)."""

    start: datetime.date
    entries: int
    mood: float | None = None
    anxiety: float | None = None
    energy: float | None = None
    support: float | None = None
    sleep_hours: float | None = None

    @property
    def end(self) -> datetime.date:
        return self.start + datetime.timedelta(days=6)

    def value(self, field: str) -> float | None:
        return getattr(self, field)

    @property
    def values(self) -> list[float | None]:
        """The averages in WELLNESS_MEASURES order (for tables)."""
        return [getattr(self, field) for field, _label, _scale in WELLNESS_MEASURES]


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of the week `day` falls in."""
    return day - datetime.timedelta(days=day.weekday())


def wellness_entry_get_for_member(*, member: User, entry_date: datetime.date) -> WellnessEntry | None:
    """Her check-in for that day, or None (never another member's)."""
    return WellnessEntry.objects.filter(user=member, entry_date=entry_date).first()


def wellness_entry_list_between(*, member: User, start: datetime.date, end: datetime.date) -> list[WellnessEntry]:
    """Her check-ins from `start` to `end` (both included), oldest first. One query."""
    return list(WellnessEntry.objects.filter(user=member, entry_date__range=(start, end)).order_by("entry_date"))


def _average(entries: list[WellnessEntry], measure: str, places: int) -> float | None:
    """The mean of `measure` over the entries that answered it, rounded; None if none did."""
    values = [float(value) for value in (getattr(entry, measure) for entry in entries) if value is not None]
    return round(sum(values) / len(values), places) if values else None


def wellness_week_list(*, member: User, today: datetime.date, weeks: int = 12) -> list[WellnessWeek]:
    """Her last `weeks` weeks, oldest first, the current week last; every week is listed, a
    week with no check-in has entries=0 and no averages. One query; the scores are encrypted
    (docs/adr/0330), so they are averaged in Python (at most 7 rows a week)."""
    weeks = max(1, weeks)
    first = week_start(today) - datetime.timedelta(weeks=weeks - 1)
    by_week: dict[datetime.date, list[WellnessEntry]] = {}
    for entry in WellnessEntry.objects.filter(user=member, entry_date__range=(first, today)):
        by_week.setdefault(week_start(entry.entry_date), []).append(entry)

    result = []
    for index in range(weeks):
        start = first + datetime.timedelta(weeks=index)
        entries = by_week.get(start)
        if not entries:
            result.append(WellnessWeek(start=start, entries=0))
            continue
        result.append(
            WellnessWeek(
                start=start,
                entries=len(entries),
                **{measure: _average(entries, measure, 2) for measure, _label, _scale in WELLNESS_MEASURES},
            )
        )
    return result


def wellness_averages(*, member: User, start: datetime.date, end: datetime.date) -> dict:
    """Her check-ins from `start` to `end`: {"entries": n, field: average over the days she
    answered it, or None}. One query; averaged in Python (the scores are encrypted)."""
    entries = list(WellnessEntry.objects.filter(user=member, entry_date__range=(start, end)))
    return {
        "entries": len(entries),
        **{measure: _average(entries, measure, 1) for measure, _label, _scale in WELLNESS_MEASURES},
    }


def wellness_share_active(*, member: User) -> bool:
    """Whether she shares her check-ins with her clinician now (her newest wellness-share
    consent record grants it). One query."""
    return consent_switch_get(member=member, source=WELLNESS_SHARE_SOURCE)


def wellness_entry_staff_queryset(
    queryset: QuerySet[WellnessEntry] | None = None, *, staff_user=None
) -> QuerySet[WellnessEntry]:
    """The check-ins staff may see in the back office: those of members who share them now, with
    `staff_user` in their care team when one is given (accounts/care_team.py), and any single entry
    whose note raised a risk alert (the alert sends whichever clinician it reached to it). Once she
    stops sharing, everything else disappears from staff view."""
    queryset = WellnessEntry.objects.all() if queryset is None else queryset
    newest_choice = (
        ConsentRecord.objects.filter(user=OuterRef("user"), source=WELLNESS_SHARE_SOURCE)
        .order_by("-created_at")
        .values("granted")[:1]
    )
    flagged = RiskAlert.objects.filter(source=RiskSource.WELLNESS_NOTE).values("source_object_id")
    shared = Q(shared_now=True)
    care = members_in_care_q(staff_user=staff_user, prefix="user__") if staff_user is not None else None
    if care is not None:
        shared &= care
    return queryset.annotate(shared_now=Subquery(newest_choice), id_text=Cast("id", CharField())).filter(
        shared | Q(id_text__in=flagged)
    )
