"""Where a member's "showed up" days come from, for weekly consistency (weeks counted, never chained).

accounts counts wellness check-ins and screenings itself; higher apps (courses: lessons opened or
finished) register a source in AppConfig.ready():

    register_activity_source(fn)   # fn(*, member, since: date) -> set[date] in one query
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

ActivitySource = Callable[..., "set[datetime.date]"]
_sources: list[ActivitySource] = []


def register_activity_source(fn: ActivitySource) -> None:
    if fn not in _sources:
        _sources.append(fn)


def activity_sources() -> list[ActivitySource]:
    return list(_sources)
