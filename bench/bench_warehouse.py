# ruff: noqa: S608 - SQL composed from bloom.warehouse's constant table names
"""Warehouse benchmark: rows per second of the warehouse load against a plain INSERT … SELECT.

Seeds 50,000 lesson-progress rows (5,000 members x 10 lessons) and 50,000 payments, then,
for each of fact_lesson_progress and fact_payment, alternates over ROUNDS rounds:

- baseline: `INSERT INTO warehouse_baseline_<fact> SELECT …` of the same source rows and
  columns (the member's raw id as text, no pseudonym, no upsert, no watermark) into a table
  shaped like the fact (same columns, primary key and indexes), emptied first;
- measured: `bloom.warehouse.warehouse_table_load(full=True)` into the emptied fact table
  (pseudonym in SQL, ON CONFLICT DO UPDATE, pruning, watermark).

The seeded rows are dated over the day before (the newest an hour ago), as the nightly load
finds them. Then it reports the load's re-run (nothing changed: it re-reads the hour before
the watermark, about 4% of the rows, and writes nothing) and an incremental run after 1% of
the source rows changed. Rows per second and the ratio of times to the
baseline are printed per fact.

Creates and drops its own scratch database named after DATABASE_URL's, with
synchronous_commit=off like the other benches (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_warehouse.py
"""

from __future__ import annotations

import statistics
import time

from support import baseline_line, print_sections, ratio_line, scratch_database

# isort: split
from django.db import connection, transaction
from django.utils import timezone

MEMBERS = 5_000
LESSONS = 10
PAYMENTS_PER_MEMBER = 10
ROUNDS = 3


def _seed() -> None:
    from accounts.models import User
    from billing.models import PaymentIntent
    from courses.models import Course, CourseEnrollment, CourseLesson, CourseModule, CourseProgress

    now = timezone.now()
    users = User.objects.bulk_create(
        [User(email=f"bench{n}@example.com", password="!", first_name="B", last_name="M") for n in range(MEMBERS)],
        batch_size=5_000,
    )
    course = Course.objects.create(title="Bench course", slug="bench-course", status="published")
    module = CourseModule.objects.create(course=course, title="Module", position=0)
    lessons = CourseLesson.objects.bulk_create(
        [CourseLesson(module=module, title=f"Lesson {i}", position=i, status="published") for i in range(LESSONS)]
    )
    enrollments = CourseEnrollment.objects.bulk_create(
        [CourseEnrollment(user=u, course=course, payment_status="free", enrolled_at=now) for u in users],
        batch_size=5_000,
    )
    CourseProgress.objects.bulk_create(
        (
            CourseProgress(enrollment=e, user_id=e.user_id, lesson=lesson, status="completed", completed_at=now)
            for e in enrollments
            for lesson in lessons
        ),
        batch_size=5_000,
    )
    PaymentIntent.objects.bulk_create(
        (
            PaymentIntent(
                user=u, kind="course", object_id=str(course.pk), description="Bench", amount=49, currency="usd"
            )
            for u in users
            for _ in range(PAYMENTS_PER_MEMBER)
        ),
        batch_size=5_000,
    )
    with connection.cursor() as cursor:
        # Rows changed over the day before, as the nightly load finds them: the newest an hour
        # ago, so a run after the first re-reads its look-back's worth (the last hour's rows).
        for source in ("course_progress", "payment_intents"):
            cursor.execute(
                f"UPDATE public.{source} SET updated_at = now() - interval '1 hour' - random() * interval '1 day'"
            )
        cursor.execute("ANALYZE")


def _execute(sql: str, params=None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _baseline_select(table) -> str:
    """The fact's SELECT with the member's raw id in place of the pseudonym: a plain copy."""
    from bloom import warehouse

    select = table.select.format(where="")
    for column in ("p.user_id",):
        select = select.replace(warehouse._member_key(column), f"{column}::text")
    assert "sha256" not in select, "the baseline must not compute the pseudonym"
    return select


def _section(table, rows: int) -> list[str]:
    from bloom import warehouse

    baseline_table = f"warehouse.warehouse_baseline_{table.name}"
    _execute(f"DROP TABLE IF EXISTS {baseline_table}")
    _execute(f"CREATE TABLE {baseline_table} (LIKE {table.qualified} INCLUDING ALL)")
    baseline_sql = f"INSERT INTO {baseline_table} ({', '.join(table.columns)}, loaded_at) {_baseline_select(table)}"
    params = {"tz": "UTC"}

    def baseline():
        _execute(f"TRUNCATE {baseline_table}")
        return _timed(lambda: _execute(baseline_sql, params))

    def measured():
        _execute(f"TRUNCATE {table.qualified}")
        _execute("DELETE FROM warehouse.load_watermark WHERE table_name = %s", [table.name])
        return _timed(lambda: warehouse.warehouse_table_load(table=table, full=True))

    base, meas = [], []
    for i in range(ROUNDS):
        order = ((baseline, base), (measured, meas)) if i % 2 == 0 else ((measured, meas), (baseline, base))
        for fn, out in order:
            out.append(fn())
    with connection.cursor() as cursor:
        # Every source row is loaded: the bench's own, and at BENCH_SCALE the seeded practice's too.
        cursor.execute(f"SELECT count(*) FROM public.{table.source}")
        source_rows = cursor.fetchone()[0]
        assert source_rows >= rows, (table.source, source_rows)
        rows = source_rows
        cursor.execute(f"SELECT count(*) FROM {table.qualified}")
        assert cursor.fetchone()[0] == rows, table.name
        cursor.execute(f"SELECT count(*) FROM {baseline_table}")
        assert cursor.fetchone()[0] == rows, baseline_table
    base_s, meas_s = statistics.median(base), statistics.median(meas)

    rerun_started = time.perf_counter()
    rerun = warehouse.warehouse_table_load(table=table)
    rerun_s = time.perf_counter() - rerun_started
    assert (rerun.inserted, rerun.updated, rerun.deleted) == (0, 0, 0), rerun

    changed = rows // 100
    source = table.source
    _execute(
        f"UPDATE public.{source} SET updated_at = clock_timestamp() "
        f"WHERE id IN (SELECT id FROM public.{source} ORDER BY id LIMIT %s)",
        [changed],
    )
    incremental = warehouse.warehouse_table_load(table=table)
    assert incremental.updated == changed, incremental

    name = f"{table.name} ({rows:,} rows)"
    return [
        baseline_line(
            f"INSERT … SELECT into a copy of {table.name}", f"{rows / base_s:>9,.0f} rows/s ({base_s * 1000:.0f} ms)"
        ),
        ratio_line(
            f"warehouse load, full: {name}",
            f"{rows / meas_s:>9,.0f} rows/s ({meas_s * 1000:.0f} ms)",
            meas_s / base_s,
            "baseline time",
        ),
        f"{'  re-run, nothing changed since the watermark':<64} {rerun_s * 1000:9.0f} ms (0 rows written)",
        f"{'  incremental, 1% of rows changed':<64} "
        f"{incremental.updated:>9,} rows updated in {incremental.seconds * 1000:.0f} ms",
    ]


def run() -> list[str]:
    from bloom import warehouse

    started = time.perf_counter()
    print(f"seeding {MEMBERS * LESSONS:,} lesson-progress rows and {MEMBERS * PAYMENTS_PER_MEMBER:,} payments ...")
    _seed()
    lines = [f"seeded in {time.perf_counter() - started:.1f} s; {ROUNDS} alternating rounds, median times"]
    lines += _section(warehouse.FACT_LESSON_PROGRESS, MEMBERS * LESSONS)
    lines += _section(warehouse.FACT_PAYMENT, MEMBERS * PAYMENTS_PER_MEMBER)
    return lines


def main() -> None:
    with scratch_database("warehouse"):
        print_sections(run)


if __name__ == "__main__":
    main()
