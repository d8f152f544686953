# ruff: noqa: S608 - SQL is composed from this module's constant table and column names; values are parameters
"""The analytics warehouse: set-based loads of the `warehouse` schema (docs/warehouse.md, docs/adr/0165).

bloom may not import the apps (the import-linter layers), so the loader is SQL over table
names: one `INSERT … SELECT … ON CONFLICT DO UPDATE` per warehouse table, no per-row Python.

- Dimensions (member, course, workshop, therapist, date) are read whole on every run: they
  are small, and a full read catches every change whatever the source's timestamps say.
- Facts are incremental: each run reads the source rows whose change stamp is at or after the
  table's watermark (`warehouse.load_watermark`) minus `LOOKBACK`, which covers transactions
  that started before the last run and committed after it (`now()` is a transaction's
  *start*). `full=True` reads everything.
- The upsert rewrites a row only when one of its columns differs, so a re-run over rows
  already loaded writes nothing and reports zero inserted and zero updated.
- Rows whose source row is gone (an erased member's, a deleted email's) are deleted from the
  warehouse on every run, so erasure reaches the warehouse by the next night.
- Members appear only as `member_key`, the HMAC pseudonym that bloom.logging.user_pseudonym
  writes in log lines, computed in SQL from derived pads (never the key itself), so a log
  line's `user=u_…` and a warehouse row can be matched by staff who hold both, and by no one
  from the warehouse alone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

SCHEMA = "warehouse"
# How far before a fact's watermark each incremental run starts reading again.
LOOKBACK = timedelta(hours=1)
# The pseudonym of bloom.logging.user_pseudonym: salted_hmac("bloom.logging.user", id, sha256)[:16].
PSEUDONYM_SALT = "bloom.logging.user"
PSEUDONYM_HEX_CHARS = 16


def _local_date(column: str) -> str:
    """SQL for the practice-local calendar day of a timestamptz column (the dim_date key)."""
    return f"({column} AT TIME ZONE %(tz)s)::date"


def _member_key(column: str) -> str:
    """SQL for the pseudonym of the user id in `column` (NULL stays NULL).

    HMAC-SHA256 written out with PostgreSQL's built-in sha256(): H(K^opad || H(K^ipad || m)),
    the pads computed in Python by `pseudonym_pads` and passed as parameters."""
    return (
        f"'u_' || left(encode(sha256(%(opad)s || sha256(%(ipad)s || convert_to({column}::text, 'UTF8'))), 'hex'), "
        f"{PSEUDONYM_HEX_CHARS})"
    )


def _pseudonym_key() -> bytes:
    """salted_hmac's derived key under the log pseudonym secret (key = sha256(salt + secret))."""
    secret = settings.BLOOM_LOG_HMAC_KEY or settings.SECRET_KEY
    secret = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(PSEUDONYM_SALT.encode() + secret).digest()


def pseudonym_pads() -> dict[str, bytes]:
    """The HMAC inner and outer pads of Django's salted_hmac under the log pseudonym key.

    Same key derivation as django.utils.crypto.salted_hmac, same secret as
    bloom.logging.user_pseudonym; the test proves the two agree."""
    key = _pseudonym_key().ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


def pseudonym_fingerprint() -> str:
    """Which key the pseudonyms are under, revealing nothing of it: a table loaded under another
    fingerprint is read whole, so a rotated key re-keys every row, not only the recent ones."""
    return hmac.new(_pseudonym_key(), b"bloom.warehouse.fingerprint", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class WarehouseTable:
    """One warehouse table and the SELECT that fills it.

    `select` yields `columns` in order; `{where}` in it takes the incremental filter
    (`AND <stamp> >= %(since)s`) or nothing. `source`/`source_key` name the public table
    and column whose ids the warehouse key (`key[0]`) copies, for pruning deleted rows."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    select: str
    stamp: str | None = None  # SQL change stamp over the source; None: read whole each run
    source: str | None = None
    source_key: str = "id"
    prune: str | None = None  # a custom DELETE (dim_member, whose key is a hash)

    @property
    def incremental(self) -> bool:
        return self.stamp is not None

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.name}"

    def upsert_sql(self, *, incremental: bool) -> str:
        where = f"AND {self.stamp} >= %(since)s" if incremental and self.incremental else ""
        values = [c for c in self.columns if c not in self.key]
        return f"""
            WITH upserted AS (
                INSERT INTO {self.qualified} AS w ({", ".join(self.columns)}, loaded_at)
                {self.select.format(where=where)}
                ON CONFLICT ({", ".join(self.key)}) DO UPDATE SET
                    {", ".join(f"{c} = EXCLUDED.{c}" for c in values)}, loaded_at = EXCLUDED.loaded_at
                WHERE ({", ".join(f"w.{c}" for c in values)})
                    IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in values)})
                RETURNING xmax = 0 AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
        """

    def prune_sql(self) -> str | None:
        if self.prune:
            return self.prune
        if not self.source:
            return None
        return (
            f"DELETE FROM {self.qualified} w WHERE NOT EXISTS "
            f"(SELECT 1 FROM public.{self.source} s WHERE s.{self.source_key} = w.{self.key[0]})"
        )


DIM_MEMBER = WarehouseTable(
    name="dim_member",
    key=("member_key",),
    columns=("member_key", "joined_date", "is_active", "is_staff"),
    select=f"""
        SELECT {_member_key("u.id")}, {_local_date("u.date_joined")}, u.is_active, u.is_staff, now()
        FROM public.users u WHERE true {{where}}
    """,
    prune=f"""
        DELETE FROM {SCHEMA}.dim_member d
        WHERE d.member_key NOT IN (SELECT {_member_key("u.id")} FROM public.users u)
    """,
)

DIM_COURSE = WarehouseTable(
    name="dim_course",
    key=("course_id",),
    columns=(
        "course_id",
        "title",
        "slug",
        "status",
        "price",
        "currency",
        "published_at",
        "archived_at",
        "source_updated_at",
    ),  # fmt: skip
    select="""
        SELECT c.id, c.title, c.slug, c.status, c.price, c.currency, c.published_at, c.archived_at,
               c.updated_at, now()
        FROM public.courses c WHERE true {where}
    """,
    source="courses",
)

DIM_WORKSHOP = WarehouseTable(
    name="dim_workshop",
    key=("workshop_id",),
    columns=(
        "workshop_id",
        "series_id",
        "title",
        "slug",
        "status",
        "starts_at",
        "ends_at",
        "start_date",
        "capacity",
        "price",
        "currency",
        "archived_at",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT w.id, w.series_id, w.title, w.slug, w.status, w.starts_at, w.ends_at,
               {_local_date("w.starts_at")}, w.capacity, w.price, w.currency, w.archived_at,
               w.updated_at, now()
        FROM public.workshops w WHERE true {{where}}
    """,
    source="workshops",
)

DIM_THERAPIST = WarehouseTable(
    name="dim_therapist",
    key=("therapist_id",),
    columns=(
        "therapist_id",
        "display_name",
        "credentials",
        "specialties",
        "is_accepting_clients",
        "hourly_rate",
        "currency",
        "timezone",
        "archived_at",
        "source_updated_at",
    ),  # fmt: skip
    select="""
        SELECT t.id, t.display_name, t.credentials, t.specialties, t.is_accepting_clients,
               t.hourly_rate, t.currency, t.timezone, t.archived_at, t.updated_at, now()
        FROM public.therapist_profiles t WHERE true {where}
    """,
    source="therapist_profiles",
)

FACT_PAYMENT = WarehouseTable(
    name="fact_payment",
    key=("payment_id",),
    columns=(
        "payment_id",
        "member_key",
        "kind",
        "object_id",
        "status",
        "amount",
        "discount_amount",
        "amount_refunded",
        "currency",
        "disputed",
        "created_at",
        "created_date",
        "paid_at",
        "paid_date",
        "refunded_at",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT p.id, {_member_key("p.user_id")}, p.kind, p.object_id, p.status, p.amount,
               p.discount_amount, p.amount_refunded, p.currency, p.disputed, p.created_at,
               {_local_date("p.created_at")}, p.paid_at, {_local_date("p.paid_at")}, p.refunded_at,
               p.updated_at, now()
        FROM public.payment_intents p WHERE true {{where}}
    """,
    stamp="p.updated_at",
    source="payment_intents",
)

FACT_ENROLLMENT = WarehouseTable(
    name="fact_enrollment",
    key=("enrollment_id",),
    columns=(
        "enrollment_id",
        "member_key",
        "course_id",
        "payment_status",
        "amount_paid",
        "amount_refunded",
        "discount_amount",
        "currency",
        "enrolled_at",
        "enrolled_date",
        "progress_percent",
        "lessons_completed",
        "completed_at",
        "access_revoked_at",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT e.id, {_member_key("e.user_id")}, e.course_id, e.payment_status, e.amount_paid,
               e.amount_refunded, e.discount_amount, e.currency, e.enrolled_at,
               {_local_date("e.enrolled_at")}, e.progress_percent, e.lessons_completed, e.completed_at,
               e.access_revoked_at, e.updated_at, now()
        FROM public.course_enrollments e WHERE true {{where}}
    """,
    stamp="e.updated_at",
    source="course_enrollments",
)

FACT_LESSON_PROGRESS = WarehouseTable(
    name="fact_lesson_progress",
    key=("progress_id",),
    columns=(
        "progress_id",
        "member_key",
        "enrollment_id",
        "course_id",
        "module_id",
        "lesson_id",
        "status",
        "last_slide_index",
        "first_viewed_at",
        "last_viewed_at",
        "completed_at",
        "completed_date",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT p.id, {_member_key("p.user_id")}, p.enrollment_id, m.course_id, l.module_id, p.lesson_id,
               p.status, p.last_slide_index, p.first_viewed_at, p.last_viewed_at, p.completed_at,
               {_local_date("p.completed_at")}, p.updated_at, now()
        FROM public.course_progress p
        JOIN public.course_lessons l ON l.id = p.lesson_id
        JOIN public.course_modules m ON m.id = l.module_id
        WHERE true {{where}}
    """,
    stamp="p.updated_at",
    source="course_progress",
)

# workshop_attendance has no updated_at: a row changes when a Zoom leave (or staff) fills
# left_at / duration after the join, so the stamp is the latest of its times.
_ATTENDANCE_STAMP = "GREATEST(a.created_at, a.joined_at, a.left_at)"
FACT_WORKSHOP_ATTENDANCE = WarehouseTable(
    name="fact_workshop_attendance",
    key=("attendance_id",),
    columns=(
        "attendance_id",
        "member_key",
        "workshop_id",
        "registration_id",
        "source",
        "joined_at",
        "left_at",
        "duration_minutes",
        "attended_date",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT a.id, {_member_key("a.user_id")}, a.workshop_id, a.registration_id, a.source, a.joined_at,
               a.left_at, a.duration_minutes, {_local_date("COALESCE(a.joined_at, a.left_at)")},
               {_ATTENDANCE_STAMP}, now()
        FROM public.workshop_attendance a WHERE true {{where}}
    """,
    stamp=_ATTENDANCE_STAMP,
    source="workshop_attendance",
)

FACT_APPOINTMENT = WarehouseTable(
    name="fact_appointment",
    key=("appointment_id",),
    columns=(
        "appointment_id",
        "member_key",
        "therapist_id",
        "status",
        "starts_at",
        "ends_at",
        "start_date",
        "duration_minutes",
        "timezone",
        "cancelled_at",
        "created_at",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT a.id, {_member_key("a.user_id")}, a.therapist_id, a.status, a.starts_at, a.ends_at,
               {_local_date("a.starts_at")}, (extract(epoch FROM a.ends_at - a.starts_at) / 60)::integer,
               a.timezone, a.cancelled_at, a.created_at, a.updated_at, now()
        FROM public.appointment_data a WHERE true {{where}}
    """,
    stamp="a.updated_at",
    source="appointment_data",
)

# email_campaign_metrics is one row per email with a time per event; the fact has a row per
# event that happened. Its stamp is the latest event time (each is written when it happens).
_EMAIL_EVENTS = ("sent", "opened", "clicked", "unsubscribed", "bounced")
_EMAIL_STAMP = f"GREATEST({', '.join(f'm.{e}_at' for e in _EMAIL_EVENTS)})"
FACT_EMAIL_EVENT = WarehouseTable(
    name="fact_email_event",
    key=("metric_id", "event_type"),
    columns=(
        "metric_id",
        "event_type",
        "campaign_id",
        "email_id",
        "category",
        "member_key",
        "occurred_at",
        "event_date",
        "bounce_type",
        "source_updated_at",
    ),  # fmt: skip
    select=f"""
        SELECT m.id, e.event_type, m.campaign_id, m.email_id, q.category, {_member_key("q.user_id")},
               e.occurred_at, {_local_date("e.occurred_at")},
               CASE WHEN e.event_type = 'bounced' THEN m.bounce_type END, {_EMAIL_STAMP}, now()
        FROM public.email_campaign_metrics m
        LEFT JOIN public.email_queue q ON q.id = m.email_id
        CROSS JOIN LATERAL (VALUES {", ".join(f"('{e}', m.{e}_at)" for e in _EMAIL_EVENTS)})
            AS e(event_type, occurred_at)
        WHERE e.occurred_at IS NOT NULL {{where}}
    """,
    stamp=_EMAIL_STAMP,
    source="email_campaign_metrics",
)

DIMENSIONS = (DIM_MEMBER, DIM_COURSE, DIM_WORKSHOP, DIM_THERAPIST)
FACTS = (
    FACT_PAYMENT,
    FACT_ENROLLMENT,
    FACT_LESSON_PROGRESS,
    FACT_WORKSHOP_ATTENDANCE,
    FACT_APPOINTMENT,
    FACT_EMAIL_EVENT,
)
TABLES = {table.name: table for table in (*DIMENSIONS, *FACTS)}

# Every day from 2020 (or the first member, if earlier) to two years ahead (booked sessions).
DIM_DATE_SQL = f"""
    WITH inserted AS (
        INSERT INTO {SCHEMA}.dim_date
        SELECT d::date, extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
               trim(to_char(d, 'Month')), extract(isoyear FROM d), extract(week FROM d),
               extract(day FROM d), extract(isodow FROM d), trim(to_char(d, 'Day')),
               extract(isodow FROM d) IN (6, 7)
        FROM generate_series(
            LEAST(DATE '2020-01-01', (SELECT min(date_joined)::date FROM public.users)),
            current_date + 730, interval '1 day'
        ) AS d
        ON CONFLICT (date_key) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM inserted
"""

WATERMARK_SQL = """
    INSERT INTO {schema}.load_watermark AS wm
        (table_name, last_updated_at, last_id, pseudonym_fingerprint, rows_inserted, rows_updated,
         last_run_started_at, last_run_finished_at)
    SELECT %(name)s, newest.source_updated_at, newest.id, %(fingerprint)s, %(inserted)s, %(updated)s, %(started)s,
           clock_timestamp()
    FROM (SELECT 1) AS one LEFT JOIN ({newest}) AS newest ON true
    ON CONFLICT (table_name) DO UPDATE SET
        last_updated_at = EXCLUDED.last_updated_at, last_id = EXCLUDED.last_id,
        pseudonym_fingerprint = EXCLUDED.pseudonym_fingerprint,
        rows_inserted = EXCLUDED.rows_inserted, rows_updated = EXCLUDED.rows_updated,
        last_run_started_at = EXCLUDED.last_run_started_at, last_run_finished_at = EXCLUDED.last_run_finished_at
"""
# The newest change stamp in a warehouse table and its key (the fact's watermark; the
# `(source_updated_at, key)` index answers it); a table without a stamp records none.
NEWEST_SQL = (
    "SELECT source_updated_at, {key}::text AS id FROM {table} ORDER BY source_updated_at DESC, {key} DESC LIMIT 1"
)
NO_STAMP_SQL = "SELECT NULL::timestamptz AS source_updated_at, NULL::text AS id"


@dataclass(frozen=True)
class TableLoad:
    """What one table's load did."""

    table: str
    inserted: int
    updated: int
    deleted: int
    since: object  # the datetime read from (incremental facts) or None (whole source)
    seconds: float

    def line(self) -> str:
        read = f"since {self.since:%Y-%m-%d %H:%M:%S%z}" if self.since else "whole source"
        return (
            f"{self.table:<26} {self.inserted:>8} inserted {self.updated:>8} updated {self.deleted:>6} deleted"
            f"  ({read}, {self.seconds:.2f} s)"
        )


def warehouse_watermark_get(*, table: str):
    """The watermark of `table`: the newest source change stamp loaded, or None before its first load."""
    return _watermark(table)[0]


def _watermark(table: str) -> tuple:
    """(last_updated_at, pseudonym_fingerprint) of `table`, (None, None) before its first load."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT last_updated_at, pseudonym_fingerprint FROM {SCHEMA}.load_watermark WHERE table_name = %s",
            [table],
        )
        row = cursor.fetchone()
    return row if row else (None, None)


def _params() -> dict:
    return {**pseudonym_pads(), "tz": settings.TIME_ZONE}


def warehouse_table_load(*, table: WarehouseTable, full: bool = False) -> TableLoad:
    """Load one warehouse table in one transaction: upsert changed rows, delete rows whose
    source is gone, move the watermark to the newest change stamp now in the table.

    Guarantees: idempotent (a re-run with no source change reports 0/0/0 and writes nothing
    but the watermark row); a failure leaves the table and its watermark as they were; two
    loads of one table never overlap (a transaction-scoped advisory lock per table)."""
    started = time.perf_counter()
    incremental = table.incremental and not full
    with transaction.atomic(), connection.cursor() as cursor:
        # One load of a table at a time (the nightly task and a `warehouse_load` by hand):
        # the second waits for the first to commit, then finds nothing left to do.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"bloom.warehouse.{table.name}"])
        cursor.execute("SELECT now()")
        (run_started,) = cursor.fetchone()
        since = None
        fingerprint = pseudonym_fingerprint()
        if incremental:
            watermark, loaded_under = _watermark(table.name)
            if watermark and loaded_under == fingerprint:
                since = watermark - LOOKBACK
        params = {**_params(), "since": since}
        cursor.execute(table.upsert_sql(incremental=since is not None), params)
        inserted, updated = cursor.fetchone()
        deleted = 0
        prune = table.prune_sql()
        if prune:
            cursor.execute(prune, params)
            deleted = cursor.rowcount
        if "source_updated_at" in table.columns:
            newest = NEWEST_SQL.format(key=table.key[0], table=table.qualified)
        else:
            newest = NO_STAMP_SQL
        watermark_sql = WATERMARK_SQL.format(schema=SCHEMA, newest=newest)
        cursor.execute(
            watermark_sql,
            {
                "name": table.name,
                "fingerprint": fingerprint,
                "inserted": inserted,
                "updated": updated,
                "started": run_started,
            },
        )
    return TableLoad(table.name, inserted, updated, deleted, since, time.perf_counter() - started)


def warehouse_dates_load() -> TableLoad:
    """Add the days dim_date lacks (never changes a day already there)."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(DIM_DATE_SQL)
        (inserted,) = cursor.fetchone()
    return TableLoad("dim_date", inserted, 0, 0, None, time.perf_counter() - started)


def warehouse_load(*, full: bool = False, progress: Callable[[TableLoad], None] | None = None) -> list[TableLoad]:
    """Load every warehouse table, dimensions first, each in its own transaction.

    `full` reads every fact source whole instead of from its watermark (the result is the
    same table contents; use it after restoring a backup or changing a fact's SELECT).
    `progress` is called with each table's TableLoad as it finishes."""
    results = []
    for load in (
        warehouse_dates_load,
        *(lambda t=t: warehouse_table_load(table=t, full=full) for t in TABLES.values()),
    ):
        result = load()
        logger.info(
            "warehouse table loaded",
            extra={"table": result.table, "inserted": result.inserted, "updated": result.updated},
        )
        if progress:
            progress(result)
        results.append(result)
    return results
