"""Seed section 4C end to end: `manage.py cleanup_orphans` finds deliberately orphaned rows,
reports them with a progress bar and a summary line, and `--fix` repairs them."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from bloom.orphans import orphan_checks
from courses.models import CourseProgress
from tests.factories.courses import CourseLessonFactory, CourseProgressFactory
from tests.factories.workshops import WorkshopRegistrationFactory
from workshops.models import RegistrationStatus

pytestmark = pytest.mark.django_db

BAR_LINE = re.compile(r"^\[(#*) *\] (\d+)/(\d+) (\w+): (.+): (\d+) found(?:, (\d+) fixed \((.+)\))?$")

# Rows members hold protect what they point at (issue #3 point 7): (table, FK field).
MEMBER_HELD = [
    ("course_enrollments", "course"),
    ("course_progress", "enrollment"),
    ("course_progress", "lesson"),
    ("course_certificates", "course"),
    ("course_certificates", "enrollment"),
    ("course_users", "course"),
    ("workshop_registrations", "workshop"),
    ("workshop_attendance", "workshop"),
    ("workshop_feedback", "workshop"),
    ("refund_requests", "payment"),
    ("appointment_payments", "appointment"),
    ("appointment_payments", "payment"),
    ("analytics_events", "blog_post"),
]


def _run(*args) -> list[str]:
    out = StringIO()
    call_command("cleanup_orphans", *args, stdout=out)
    return out.getvalue().splitlines()


def _bar_lines(lines):
    return {match.group(5): match for match in map(BAR_LINE.match, lines) if match}


def _orphans():
    """One row of each seed 4C kind that a healthy database never has."""
    # 4C.1 data outliving its course content: progress on a lesson of ANOTHER course than the enrollment's.
    mismatched = CourseProgressFactory()
    CourseProgress.objects.filter(pk=mismatched.pk).update(lesson=CourseLessonFactory())
    # 4C.2 "removed workshops with existing registrations": the workshop is archived, the seat still active.
    held = WorkshopRegistrationFactory()
    held.workshop.archive()
    healthy = WorkshopRegistrationFactory()
    return mismatched, held, healthy


@pytest.mark.parametrize(("table", "field"), MEMBER_HELD)
def test_rows_members_hold_protect_what_they_point_at(table, field):
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    assert model._meta.get_field(field).remote_field.on_delete is models.PROTECT


def test_report_shows_a_progress_bar_per_check_and_a_summary_without_changing_anything():
    mismatched, held, _ = _orphans()
    lines = _run()
    checks = orphan_checks()
    bars = _bar_lines(lines)

    assert len(bars) == len(checks)
    numbers = [(int(m.group(2)), int(m.group(3))) for m in map(BAR_LINE.match, lines) if m]
    assert numbers == [(i, len(checks)) for i in range(1, len(checks) + 1)]
    assert BAR_LINE.match(lines[len(checks) - 1]).group(1) == "#" * 20  # the bar is full at the end
    progress_line = next(m for name, m in bars.items() if "does not match its enrollment" in name)
    assert progress_line.group(6) == "1"
    registration_line = next(m for name, m in bars.items() if name.startswith("active workshop registrations"))
    assert registration_line.group(6) == "1"
    assert lines[-1] == f"{len(checks)} checks, 2 orphaned rows found; run with --fix to repair."

    assert CourseProgress.objects.filter(pk=mismatched.pk).exists()
    held.refresh_from_db()
    assert held.status == RegistrationStatus.REGISTERED


def test_fix_repairs_the_orphans_and_a_second_run_finds_none():
    mismatched, held, healthy = _orphans()
    lines = _run("--fix")
    bars = _bar_lines(lines)
    fixed = {name: m.group(7) for name, m in bars.items() if m.group(7)}
    assert len(fixed) == 2 and set(fixed.values()) == {"1"}
    assert lines[-1] == f"{len(orphan_checks())} checks, 2 orphaned rows found, 2 repaired."

    assert not CourseProgress.objects.filter(pk=mismatched.pk).exists()
    held.refresh_from_db()
    healthy.refresh_from_db()
    assert held.status == RegistrationStatus.CANCELLED
    assert healthy.status == RegistrationStatus.REGISTERED

    assert _run()[-1] == f"{len(orphan_checks())} checks, 0 orphaned rows found."
