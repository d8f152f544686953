"""The beat schedule: merged from each app's `schedule.py`, written to the database by migrate.

Each app lists its periodic tasks in `<app>/schedule.py` as a `BEAT_SCHEDULE` dict. Beat
runs django-celery-beat's DatabaseScheduler, which reads the `django_celery_beat_*` tables;
`migrate` writes the merged schedule there (docs/adr/0007), so staff see every periodic task
in the admin, and can pause one, before beat has ever started.

Who owns what, the same as when beat itself starts and syncs the schedule: the code owns an
entry's task, timing, arguments and routing options; staff own everything else on the row,
above all `enabled`. A task staff paused stays paused across every `migrate` and beat start.
An entry the code retired (an app's `RETIRED_BEAT_ENTRIES`) is deleted, so beat never sends a
task that no longer exists (the three webhook sweeps became `bloom-webhooks-sweep`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, transaction

from bloom.discovery import local_app_modules

# The routing options of an entry, as django-celery-beat stores them on PeriodicTask.
_OPTION_FIELDS = ("queue", "exchange", "routing_key", "priority", "expire_seconds")
_SCHEDULE_FIELDS = ("interval", "crontab", "solar", "clocked")


def beat_schedule() -> dict[str, dict]:
    """Every app's BEAT_SCHEDULE, merged; two apps may not use the same entry name."""
    merged: dict[str, dict] = {}
    for label, module in local_app_modules("schedule"):
        for name, entry in module.BEAT_SCHEDULE.items():
            if name in merged:
                raise ImproperlyConfigured(f"beat schedule entry {name!r} of {label} is defined twice")
            merged[name] = entry
    return merged


def beat_entries_retired() -> set[str]:
    """Every app's RETIRED_BEAT_ENTRIES: names an earlier release scheduled and this one does not."""
    return {
        name for _label, module in local_app_modules("schedule") for name in getattr(module, "RETIRED_BEAT_ENTRIES", ())
    }


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str] = field(default_factory=list)


def _code_fields(entry: dict) -> dict:
    """The PeriodicTask fields an entry sets, with its schedule row found or created."""
    from django_celery_beat.schedulers import ModelEntry

    # The scheduler's own conversion, so beat finds these very rows when it syncs at start.
    model_schedule, schedule_field = ModelEntry.to_model_schedule(entry["schedule"])
    options = entry.get("options") or {}
    unknown = set(options) - {*_OPTION_FIELDS, "headers"}
    if unknown:
        raise ImproperlyConfigured(f"beat schedule options not stored by django-celery-beat: {sorted(unknown)}")
    fields = dict.fromkeys(_SCHEDULE_FIELDS)
    fields[schedule_field] = model_schedule
    fields.update(
        task=entry["task"],
        args=json.dumps(list(entry.get("args") or [])),
        kwargs=json.dumps(dict(entry.get("kwargs") or {})),
        headers=json.dumps(options.get("headers") or {}),
        **{name: options.get(name) for name in _OPTION_FIELDS},
    )
    return fields


def beat_schedule_sync(schedule: dict[str, dict] | None = None) -> SyncResult:
    """Write the code's beat schedule (default: `beat_schedule()`) to django-celery-beat's tables.

    Idempotent. Creates the periodic task of each entry that has none (enabled); on an
    existing one rewrites only the fields the code owns when they differ, and never touches
    `enabled`, `description`, `start_time`, `expires`, `one_off` or the run history. Rows the
    code does not name (staff's own periodic tasks) are left alone, except the retired
    entries (`beat_entries_retired`), which are deleted. One transaction.
    """
    from django_celery_beat.models import PeriodicTask

    schedule = beat_schedule() if schedule is None else schedule
    created, updated, unchanged = [], [], []
    with transaction.atomic():
        retired = PeriodicTask.objects.filter(name__in=beat_entries_retired() - set(schedule))
        deleted = sorted(retired.values_list("name", flat=True))
        retired.delete()
        existing = {task.name: task for task in PeriodicTask.objects.select_for_update().filter(name__in=schedule)}
        for name, entry in schedule.items():
            fields = _code_fields(entry)
            task = existing.get(name)
            if task is None:
                PeriodicTask.objects.create(name=name, **fields)
                created.append(name)
                continue
            changed = [field for field, value in fields.items() if getattr(task, field) != value]
            if not changed:
                unchanged.append(name)
                continue
            for field in changed:
                setattr(task, field, fields[field])
            task.save()
            updated.append(name)
    return SyncResult(created=created, updated=updated, unchanged=unchanged, deleted=deleted)


def install_beat_schedule(sender, *, apps=global_apps, using=DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs) -> None:
    """post_migrate receiver: every entry of the beat schedule exists as a periodic task.

    Also runs after `flush` (which passes no `apps`), so a test database starts with the
    schedule a fresh install has. Quiet when django-celery-beat is migrated to zero.
    """
    if using != DEFAULT_DB_ALIAS:
        return
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return
    result = beat_schedule_sync()
    if verbosity >= 1 and (result.created or result.updated or result.deleted):
        # migrate passes its own stdout to post_migrate receivers, as Django's own receivers use it.
        stdout = kwargs.get("stdout") or sys.stdout
        stdout.write(
            f"  Beat schedule: {len(result.created)} periodic task(s) created, {len(result.updated)} updated,"
            f" {len(result.deleted)} retired.\n"
        )
