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

from django.db import transaction
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


@dataclass(frozen=True)
class OrphanResult:
    app_label: str
    check: OrphanCheck
    found: int
    fixed: int


def orphans_cleanup(
    *, fix: bool, progress: Callable[[int, int, OrphanResult], None] | None = None
) -> list[OrphanResult]:
    """Run every check; with `fix`, repair what each finds.

    Each check counts and repairs in one transaction of its own, so a repair touches the rows
    it counted and a failing check leaves the others' repairs in place. `progress` is called
    with (index, number of checks, result) after each check. Running it twice is harmless:
    a repaired row is no longer found.
    """
    checks = orphan_checks()
    results = []
    for index, (label, check) in enumerate(checks, start=1):
        with transaction.atomic():
            queryset = check.find()
            found = queryset.count()
            fixed = check.fix(queryset) if fix and found else 0
        result = OrphanResult(app_label=label, check=check, found=found, fixed=fixed)
        results.append(result)
        if progress is not None:
            progress(index, len(checks), result)
    return results
