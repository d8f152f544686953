"""Weekly consistency: how many of the last weeks she showed up at all (issue 13, gentle engagement).

A week counts when she did anything on any one of its days (a check-in, a screening, a lesson):
the other six are grace days. Weeks are counted, never chained, so a quiet week (a hospital
stay, a newborn) takes nothing away from the weeks before it. Dates are in the reader's zone
(the request activates the member's time zone).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models.functions import TruncDate
from django.utils import timezone

from ..activity import activity_sources
from ..models import ScreeningResponse, WellnessEntry

CONSISTENCY_WEEKS = 8


@dataclass(frozen=True)
class ConsistencyWeek:
    starts_on: datetime.date
    active_days: int

    @property
    def kept(self) -> bool:
        return self.active_days > 0


@dataclass(frozen=True)
class Consistency:
    weeks: list[ConsistencyWeek]

    @property
    def kept(self) -> int:
        return sum(week.kept for week in self.weeks)


def consistency_get(*, member, today: datetime.date | None = None, weeks: int = CONSISTENCY_WEEKS) -> Consistency:
    """The last `weeks` weeks (Monday to Sunday, this one last) with the days she showed up in each.

    Queries: one for check-ins, one for screenings, one per registered source.
    """
    today = today or timezone.localdate()
    this_monday = today - datetime.timedelta(days=today.weekday())
    since = this_monday - datetime.timedelta(weeks=weeks - 1)
    days = set(WellnessEntry.objects.filter(user=member, entry_date__gte=since).values_list("entry_date", flat=True))
    days |= set(
        ScreeningResponse.objects.filter(user=member, taken_at__date__gte=since)
        .annotate(day=TruncDate("taken_at"))
        .values_list("day", flat=True)
    )
    for source in activity_sources():
        days |= set(source(member=member, since=since))
    result = []
    for index in range(weeks):
        monday = since + datetime.timedelta(weeks=index)
        sunday = monday + datetime.timedelta(days=6)
        result.append(ConsistencyWeek(starts_on=monday, active_days=sum(monday <= d <= sunday for d in days)))
    return Consistency(weeks=result)
