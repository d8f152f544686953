"""Data retention (seed section 7.2): old rows that are no longer needed are deleted or redacted.

An app lists its policies in `<app>/retention.py`:

    POLICIES = [
        RetentionPolicy(
            name="analytics_events older than the limit",
            setting="analytics_events",                 # key of settings.BLOOM_RETENTION_DAYS
            find=lambda cutoff: AnalyticsEvent.objects.filter(created_at__lt=cutoff),
            apply=delete_rows,                         # or a function that redacts, returns rows changed
            action="delete",
        ),
    ]

`manage.py apply_retention` (and a nightly beat task) applies every policy in batches, so a
large backlog never holds one long transaction; `--dry-run` only counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bloom.discovery import local_app_modules

BATCH_SIZE = 1000


@dataclass(frozen=True)
class RetentionPolicy:
    name: str
    setting: str
    find: Callable[[datetime], QuerySet]
    apply: Callable[[QuerySet], int]
    action: str


@dataclass(frozen=True)
class RetentionResult:
    app_label: str
    policy: RetentionPolicy
    days: int
    due: int
    changed: int


def delete_rows(queryset: QuerySet) -> int:
    """Delete the rows of `queryset`; returns how many rows of its own model went."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


def webhook_events_policy(model) -> RetentionPolicy:
    """Processed webhook deliveries older than the limit. Pending and failed ones are kept for reprocessing."""
    return RetentionPolicy(
        name=f"{model._meta.db_table} processed before the limit",
        setting="webhook_events",
        find=lambda cutoff: model.objects.filter(processed=True, created_at__lt=cutoff),
        apply=delete_rows,
        action="delete",
    )


def retention_policies() -> list[tuple[str, RetentionPolicy]]:
    return [
        (label, policy)
        for label, module in local_app_modules("retention")
        for policy in getattr(module, "POLICIES", [])
    ]


def retention_days(policy: RetentionPolicy) -> int:
    days = settings.BLOOM_RETENTION_DAYS[policy.setting]
    if int(days) < 1:
        raise ValueError(f"BLOOM_RETENTION_DAYS[{policy.setting!r}] must be at least 1 day, not {days!r}")
    return int(days)


def retention_apply(
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    on_batch: Callable[[str, RetentionPolicy, int, int], None] | None = None,
) -> list[RetentionResult]:
    """Apply every policy; `on_batch(app_label, policy, done, due)` is called after each batch."""
    now = now or timezone.now()
    results = []
    for label, policy in retention_policies():
        days = retention_days(policy)
        cutoff = now - timedelta(days=days)
        queryset = policy.find(cutoff)
        due = queryset.count()
        changed = 0
        if not dry_run:
            while True:
                with transaction.atomic():
                    ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
                    if not ids:
                        break
                    changed += policy.apply(queryset.model._base_manager.filter(pk__in=ids))
                if on_batch:
                    on_batch(label, policy, changed, due)
                if len(ids) < BATCH_SIZE:
                    break
        results.append(RetentionResult(label, policy, days, due, changed))
    return results
