"""`manage.py seed_scale` (issue 18 point 1): counts per table at a small factor, a second run
adds nothing, a larger factor tops up, dry runs write nothing, and the refusals hold."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from bloom.ledger import ledger_drift_list
from bloom.orphans import orphans_cleanup
from bloom.scale import LOCK_KEY, TABLES, ScaleRefused, Shape, scale_plan, scale_seed
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

SMALL = 0.01


def table_rows() -> dict[str, int]:
    """Every generated table's total row count (generated or not)."""
    counts = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table.db_table}")  # noqa: S608 - constant names
            counts[table.db_table] = cursor.fetchone()[0]
    return counts


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_scale", *args, stdout=out)
    return out.getvalue()


def scalar(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_small_factor_fills_every_table_to_its_target():
    before = table_rows()
    output = seed("--factor", str(SMALL))

    shape = Shape(SMALL)
    after = table_rows()
    for table in TABLES:
        assert after[table.db_table] - before[table.db_table] == shape.rows(table.name), table.name
    # The shape at this factor: the floor sizes, and the big course of 500 lessons.
    assert (shape.members, shape.courses, shape.lessons, shape.enrollments) == (10, 4, 500 + 3 * 24, 30)
    assert shape.rows("emails") == 100 and shape.rows("events") == 200
    assert (
        scalar(
            "SELECT count(*) FROM course_lessons l JOIN course_modules m ON m.id = l.module_id "
            "JOIN courses c ON c.id = m.course_id WHERE c.slug = 'scale-course-1'"
        )
        == 500
    )
    assert "members" in output and "[" + "#" * 30 + "]" in output
    assert output.strip().splitlines()[-1].startswith("seed_scale --factor 0.01: ")


def test_the_rows_look_like_real_ones():
    seed("--factor", "0.05")

    # Every outbox state, and only pending rows are due later (none due now: no surprise sends).
    states = dict(connection.cursor().execute("SELECT status, count(*) FROM email_queue GROUP BY 1").fetchall())
    assert set(states) == {"pending", "sending", "sent", "failed", "cancelled"}
    assert scalar("SELECT count(*) FROM email_queue WHERE status = 'pending' AND scheduled_at <= now()") == 0
    # Dates spread over about two years.
    assert scalar("SELECT max(date_joined) - min(date_joined) > interval '600 days' FROM users")
    assert scalar("SELECT count(DISTINCT status) FROM appointment_data") >= 4
    # One member in ten is a client (50 members at 0.05: 5 clients), each with one therapist.
    assert scalar("SELECT count(DISTINCT user_id) FROM appointment_data") == 5
    assert (
        scalar(
            "SELECT count(*) FROM (SELECT user_id FROM appointment_data GROUP BY 1 "
            "HAVING count(DISTINCT therapist_id) > 1) x"
        )
        == 0
    )
    # Progress rows agree with their enrollment: same course, completed count, no future views.
    assert (
        scalar(
            "SELECT count(*) FROM course_progress p JOIN course_enrollments e ON e.id = p.enrollment_id "
            "JOIN course_lessons l ON l.id = p.lesson_id JOIN course_modules m ON m.id = l.module_id "
            "WHERE m.course_id <> e.course_id OR p.last_viewed_at > now()"
        )
        == 0
    )
    assert (
        scalar(
            "SELECT count(*) FROM course_enrollments e WHERE e.lessons_completed <> (SELECT count(*) FROM "
            "course_progress p WHERE p.enrollment_id = e.id AND p.status = 'completed')"
        )
        == 0
    )
    # No member holds two active seats in one workshop; cancelled workshops have no attendees.
    assert (
        scalar(
            "SELECT count(*) FROM workshop_registrations r JOIN workshops w ON w.id = r.workshop_id "
            "WHERE w.status = 'cancelled' AND r.status <> 'cancelled'"
        )
        == 0
    )
    # Nothing encrypted is generated, so no plain text where ciphertext belongs.
    assert scalar("SELECT count(*) FROM session_notes") == 0
    assert scalar("SELECT count(*) FROM wellness_entries") == 0
    # Sound FK graph and ledger: no orphans, no drift.
    assert all(result.found == 0 for result in orphans_cleanup(fix=False))
    assert ledger_drift_list() == []
    # Generated members cannot sign in with a password.
    assert scalar("SELECT count(*) FROM users WHERE email LIKE 'scale-%' AND password NOT LIKE '!%'") == 0


def test_second_run_adds_nothing_and_a_larger_factor_tops_up():
    seed("--factor", str(SMALL))
    first = table_rows()
    enrollments = connection.cursor().execute("SELECT id, course_id FROM course_enrollments").fetchall()

    results = scale_seed(factor=SMALL)
    assert [r.added for r in results] == [0] * len(TABLES)
    assert table_rows() == first

    results = scale_seed(factor=SMALL * 2)
    bigger = Shape(SMALL * 2)
    assert {r.name: r.after for r in results} == {t.name: bigger.rows(t.name) for t in TABLES}
    # The earlier rows are untouched (same courses), only new ones were added.
    assert set(enrollments) <= set(connection.cursor().execute("SELECT id, course_id FROM course_enrollments"))
    assert ledger_drift_list() == []


def test_dry_run_writes_nothing_and_says_what_it_would_add():
    before = table_rows()
    output = seed("--factor", str(SMALL), "--dry-run")

    assert table_rows() == before
    assert "would add         10" in output  # members
    assert "Dry run, nothing written" in output.splitlines()[-1]


def test_only_fills_the_tables_named_and_refuses_when_a_needed_one_is_short():
    seed("--factor", str(SMALL), "--only", "members,subscribers")
    plan = {r.name: r.before for r in scale_plan(factor=SMALL)}
    assert plan["members"] == 10 and plan["subscribers"] == 5
    assert plan["progress"] == plan["emails"] == 0

    with pytest.raises(CommandError, match="progress needs enrollments"):
        seed("--factor", str(SMALL), "--only", "progress")
    with pytest.raises(CommandError, match="unknown table"):
        seed("--factor", str(SMALL), "--only", "members,nope")


def test_refuses_a_database_with_real_members_unless_yes():
    UserFactory(email="jane.doe@gmail.com")
    before = table_rows()

    with pytest.raises(CommandError, match="1 member"):
        seed("--factor", str(SMALL))
    assert table_rows() == before

    seed("--factor", str(SMALL), "--yes")
    assert scalar("SELECT count(*) FROM users WHERE email LIKE 'scale-%'") == 10


def test_demo_and_test_addresses_are_not_real_members():
    UserFactory(email="maya@bloom.test")
    UserFactory(email="member@example.com")
    seed("--factor", str(SMALL))
    assert scalar("SELECT count(*) FROM users WHERE email LIKE 'scale-%'") == 10


@override_settings(SETTINGS_MODULE="bloom.settings.prod")
def test_refuses_production_settings_unless_yes():
    with pytest.raises(CommandError, match="production"):
        seed("--factor", str(SMALL))
    assert scalar("SELECT count(*) FROM users WHERE email LIKE 'scale-%'") == 0


@pytest.mark.parametrize("factor", ["0", "-1", "nan", "inf", "1001"])
def test_refuses_a_bad_factor(factor):
    with pytest.raises(CommandError, match="positive number up to 1000"):
        seed("--factor", factor)
    with pytest.raises(CommandError, match="positive number up to 1000"):
        seed("--factor", factor, "--dry-run")
    assert scalar("SELECT count(*) FROM users") == 0


@pytest.mark.django_db(transaction=True)
def test_refuses_while_another_run_holds_the_lock():
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        password=settings_dict["PASSWORD"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(ScaleRefused, match="another seed_scale"):
            scale_seed(factor=SMALL)
    finally:
        other.close()
    assert scalar("SELECT count(*) FROM users WHERE email LIKE 'scale-%'") == 0


@pytest.mark.parametrize("argument", ["", "abc", "-5", "1e3"])
def test_bench_scale_database_script_refuses_a_bad_factor(argument):
    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_scale_db.py"
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(script), *([argument] if argument else [])],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
        check=False,
    )
    assert done.returncode == 2
    assert "usage: bench_scale_db.py FACTOR" in done.stderr
    assert done.stdout == ""
