"""Weekly consistency: how many of the last weeks she showed up at all (issue 13, gentle engagement).

A week counts when she did anything on any one of its days (a check-in, a screening, a lesson):
the other six are grace days. Weeks are counted, never chained, so a quiet week (a hospital
stay, a newborn) takes nothing away from the weeks before it. Dates are in the reader's zone
(the request activates the member's time zone).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.functions import TruncDate
from django.utils import timezone

from bloom.cache import kept

from ..activity import activity_sources
from ..models import ScreeningResponse, WellnessEntry

CONSISTENCY_WEEKS = 8
# Kept per member and day: the dashboard shows it on every visit, and it changes only when she
# checks in, screens or opens a lesson (each drops the key); the time bounds a change made
# while Redis was away.
CONSISTENCY_KEY = "accounts:consistency:v1:{user_id}:{today}:{weeks}"
CONSISTENCY_SECONDS = 600


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

    One query: the days of check-ins, screenings and every registered source, as one UNION.
    """
    today = today or timezone.localdate()
    return kept(
        CONSISTENCY_KEY.format(user_id=member.pk, today=today, weeks=weeks),
        lambda: _consistency_compute(member=member, today=today, weeks=weeks),
        CONSISTENCY_SECONDS,
    )


def consistency_forget(*, user_id) -> None:
    """Drop her kept weeks (a check-in, a screening or a lesson changed them): every key of
    hers for today and the days either side, whatever zone she reads in."""
    today = timezone.now().date()
    days = (today - datetime.timedelta(days=1), today, today + datetime.timedelta(days=1))
    cache.delete_many([CONSISTENCY_KEY.format(user_id=user_id, today=day, weeks=CONSISTENCY_WEEKS) for day in days])


def consistency_forget_receiver(sender, instance, **kwargs) -> None:
    """`post_save`/`post_delete` receiver for the rows her showing-up days come from."""
    consistency_forget(user_id=instance.user_id)


def _consistency_compute(*, member, today: datetime.date, weeks: int) -> Consistency:
    this_monday = today - datetime.timedelta(days=today.weekday())
    since = this_monday - datetime.timedelta(weeks=weeks - 1)
    check_ins = WellnessEntry.objects.filter(user=member, entry_date__gte=since).values_list("entry_date", flat=True)
    screenings = (
        ScreeningResponse.objects.filter(user=member, taken_at__date__gte=since)
        .annotate(day=TruncDate("taken_at"))
        .values_list("day", flat=True)
    )
    others = [source(member=member, since=since).order_by() for source in activity_sources()]
    days = set(check_ins.order_by().union(screenings.order_by(), *others))
    result = []
    for index in range(weeks):
        monday = since + datetime.timedelta(weeks=index)
        sunday = monday + datetime.timedelta(days=6)
        result.append(ConsistencyWeek(starts_on=monday, active_days=sum(monday <= d <= sunday for d in days)))
    return Consistency(weeks=result)
