"""Orphaned-data checks (seed section 4C), discovered from each app's `orphans.py`.

An app lists its checks in `<app>/orphans.py`:

    CHECKS = [
        OrphanCheck(
            name="course_progress without enrollment",
            find=lambda: CourseProgress.objects.filter(...),   # queryset of orphaned rows
            fix=lambda qs: qs.delete()[0],                      # repair, returns rows changed
            fix_description="delete the progress rows",
        ),
    ]

`manage.py cleanup_orphans` reports every check; with `--fix` it repairs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet


@dataclass(frozen=True)
class OrphanCheck:
    name: str
    find: Callable[[], QuerySet]
    fix: Callable[[QuerySet], int]
    fix_description: str


def orphan_checks() -> list[tuple[str, OrphanCheck]]:
    found = []
    for label in settings.LOCAL_APPS:
        try:
            module = importlib.import_module(f"{label}.orphans")
        except ModuleNotFoundError as exc:
            if exc.name != f"{label}.orphans":
                raise
            continue
        found.extend((label, check) for check in getattr(module, "CHECKS", []))
    return found
