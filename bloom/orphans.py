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

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from bloom.discovery import local_app_modules


@dataclass(frozen=True)
class OrphanCheck:
    name: str
    find: Callable[[], QuerySet]
    fix: Callable[[QuerySet], int]
    fix_description: str


def orphan_checks() -> list[tuple[str, OrphanCheck]]:
    return [(label, check) for label, module in local_app_modules("orphans") for check in getattr(module, "CHECKS", [])]
