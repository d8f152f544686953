"""Where a member's "showed up" days come from, for weekly consistency (weeks counted, never chained).

accounts counts wellness check-ins and screenings itself; higher apps (courses: lessons opened or
finished) register a source in AppConfig.ready():

    register_activity_source(fn, models=(Row,))   # fn(*, member, since: date) -> a values_list query of dates

accounts unions every source's query with its own, so the days come back in one query.
"""

from __future__ import annotations

from collections.abc import Callable

# A source returns a query of dates, `.values_list(<a date>, flat=True)`, that accounts unions.
ActivitySource = Callable[..., object]
_sources: list[ActivitySource] = []


def register_activity_source(fn: ActivitySource, *, models: tuple = ()) -> None:
    """Count `fn`'s days as showing up; `models` are the rows they come from, whose changes
    drop her kept weeks (accounts/selectors/consistency.py)."""
    if fn not in _sources:
        _sources.append(fn)
    activity_models_watch(*models)


def activity_models_watch(*models) -> None:
    """Drop a member's kept weeks whenever one of her rows of `models` is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    from .selectors.consistency import consistency_forget_receiver

    for model in models:
        label = model._meta.label_lower
        post_save.connect(consistency_forget_receiver, sender=model, dispatch_uid=f"consistency_{label}_saved")
        post_delete.connect(consistency_forget_receiver, sender=model, dispatch_uid=f"consistency_{label}_deleted")


def activity_sources() -> list[ActivitySource]:
    return list(_sources)
