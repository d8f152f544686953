"""Data retention (seed section 7.2, docs/adr/0081 and 0350): what is no longer needed is deleted or redacted.

An app lists its policies, and the holds that keep a member's rows, in `<app>/retention.py`:

    POLICIES = [
        RetentionPolicy(
            name="analytics_events older than the limit",
            setting="analytics_events",                 # key of settings.BLOOM_RETENTION_DAYS
            find=lambda cutoff: AnalyticsEvent.objects.filter(created_at__lt=cutoff),
            apply=delete_rows,                         # or a function that redacts, returns rows changed
            action="delete",
            member="user",                             # path to the member whose holds keep the row
        ),
    ]
    HOLDS = [RetentionHold(name="open appointment", users=lambda now: <queryset of user ids>)]

A policy that deletes with `delete_rows` is written `deletion_policy(name=…, setting=…, find=…)`.

A hold names members whose rows no policy touches while it lasts (an open appointment, an
active enrollment, an unacknowledged risk alert, a legal hold from
settings.BLOOM_RETENTION_LEGAL_HOLD_EMAILS). Higher apps declare holds here so that a lower app's
policy (wellness in `accounts`) respects an appointment without importing `appointments`.

`manage.py apply_retention` (and a nightly beat task) applies every policy in batches of
`BATCH_SIZE` rows, one short transaction each, so a large backlog never holds one long
transaction or loads more than one batch; `--dry-run` only counts.

A policy's `find` must stop matching a row once `apply` handled it (a redaction filters on
the fields it empties), or the batches would never end; a batch that changes nothing stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
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
    # Lookup path from the row to the member it is about ("user", "appointment__user"); her
    # holds keep the row. None: the row is about no member (holds do not apply).
    member: str | None = None


@dataclass(frozen=True)
class RetentionHold:
    """Members whose rows every policy leaves alone while this lasts."""

    name: str
    users: Callable[[datetime], QuerySet]  # now -> queryset of user ids (values_list / values of one column)


@dataclass(frozen=True)
class RetentionResult:
    app_label: str
    policy: RetentionPolicy
    days: int
    due: int
    changed: int
    held: int = 0


def delete_rows(queryset: QuerySet) -> int:
    """Delete the rows of `queryset`; returns how many rows of its own model went."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


def redact_rows(**values) -> Callable[[QuerySet], int]:
    """An `apply` that overwrites the given fields (free text emptied) and keeps the rows."""

    def apply(queryset: QuerySet) -> int:
        return queryset.update(**values)

    return apply


def deletion_policy(
    *,
    name: str,
    setting: str,
    find: Callable[[datetime], QuerySet],
    action: str = "delete",
    member: str | None = None,
) -> RetentionPolicy:
    """A policy that deletes the rows `find` matches (`delete_rows`); `action` says what goes with them."""
    return RetentionPolicy(name=name, setting=setting, find=find, apply=delete_rows, action=action, member=member)


def webhook_events_policy(model) -> RetentionPolicy:
    """Processed webhook deliveries older than the limit. Pending and failed ones are kept for reprocessing."""
    return deletion_policy(
        name=f"{model._meta.db_table} processed before the limit",
        setting="webhook_events",
        find=lambda cutoff: model.objects.filter(processed=True, created_at__lt=cutoff),
    )


def legal_hold_users(now: datetime) -> QuerySet:
    """Members under a legal hold (settings.BLOOM_RETENTION_LEGAL_HOLD_EMAILS, matched without case)."""
    emails = [email.strip().lower() for email in settings.BLOOM_RETENTION_LEGAL_HOLD_EMAILS if email.strip()]
    users = get_user_model().objects.annotate(email_lower=Lower("email"))
    return users.filter(email_lower__in=emails).values("pk")


def retention_policies(only: str | None = None) -> list[tuple[str, RetentionPolicy]]:
    """Every app's policies; `only` keeps those whose setting key or name is `only`."""
    policies = [
        (label, policy)
        for label, module in local_app_modules("retention")
        for policy in getattr(module, "POLICIES", [])
    ]
    if only is not None:
        policies = [(label, policy) for label, policy in policies if only in (policy.setting, policy.name)]
    return policies


def retention_holds() -> list[RetentionHold]:
    return [RetentionHold("legal hold", legal_hold_users)] + [
        hold for _label, module in local_app_modules("retention") for hold in getattr(module, "HOLDS", [])
    ]


def retention_days(policy: RetentionPolicy) -> int:
    days = settings.BLOOM_RETENTION_DAYS[policy.setting]
    if int(days) < 1:
        raise ValueError(f"BLOOM_RETENTION_DAYS[{policy.setting!r}] must be at least 1 day, not {days!r}")
    return int(days)


def _without_holds(queryset: QuerySet, policy: RetentionPolicy, holds: list[RetentionHold], now: datetime) -> QuerySet:
    if policy.member is None:
        return queryset
    for hold in holds:
        queryset = queryset.exclude(**{f"{policy.member}__in": hold.users(now)})
    return queryset


def retention_apply(
    *,
    dry_run: bool = False,
    only: str | None = None,
    now: datetime | None = None,
    on_batch: Callable[[str, RetentionPolicy, int, int], None] | None = None,
) -> list[RetentionResult]:
    """Apply every policy (or those `only` names); guarantees rows of held members are never touched.

    Limits are checked for all policies before any row changes. `on_batch(app_label, policy,
    done, due)` is called after each batch; with `dry_run` nothing changes and `due` and
    `held` are counts only.
    """
    now = now or timezone.now()
    policies = retention_policies(only)
    days_of = {policy.name: retention_days(policy) for _label, policy in policies}
    holds = retention_holds()
    results = []
    for label, policy in policies:
        days = days_of[policy.name]
        cutoff = now - timedelta(days=days)
        past_limit = policy.find(cutoff)
        queryset = _without_holds(past_limit, policy, holds, now)
        due = queryset.count()
        held = past_limit.count() - due if policy.member else 0
        changed = 0
        if not dry_run and due:
            while True:
                with transaction.atomic():
                    ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
                    if not ids:
                        break
                    batch = policy.apply(queryset.model._base_manager.filter(pk__in=ids))
                    changed += batch
                if on_batch:
                    on_batch(label, policy, changed, due)
                if len(ids) < BATCH_SIZE or not batch:
                    break
        results.append(RetentionResult(label, policy, days, due, changed, held))
    return results
