"""Issue 15 point 7: the warehouse schema loads every fact and dimension from its source with
set-based SQL, incrementally from a watermark, idempotently, with members pseudonymised."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from bloom import warehouse
from bloom.beat import beat_schedule
from bloom.logging import user_pseudonym
from bloom.tasks import warehouse_load_task
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.billing import PaymentIntentFactory
from tests.factories.courses import CourseProgressFactory
from tests.factories.notifications import EmailCampaignMetricFactory, EmailQueueFactory
from tests.factories.workshops import WorkshopAttendanceFactory

pytestmark = pytest.mark.django_db

# Canaries: personal data planted in every source column that holds some.
FIRST, LAST = "Canaryfirstname", "Canarylastname"
EMAIL = "canary.member@canary-example.org"
GUEST_NAME, GUEST_EMAIL = "Canaryguestname", "canary.guest@canary-example.org"
CANARIES = (FIRST, LAST, EMAIL, GUEST_NAME, GUEST_EMAIL, "canary-example")

FACT_TABLES = [t.name for t in warehouse.FACTS]
ALL_TABLES = ["dim_date", *warehouse.TABLES]


def _rows(table: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(t)::text FROM warehouse.{table} t ORDER BY 1")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def _row(table: str, where: str, value) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(t) FROM warehouse.{table} t WHERE {where} = %s", [value])  # noqa: S608
        rows = cursor.fetchall()
    assert len(rows) == 1, (table, where, value, rows)
    return rows[0][0]


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM warehouse.{table}")  # noqa: S608
        return cursor.fetchone()[0]


def _snapshot() -> dict[str, list]:
    return {table: _rows(table) for table in ALL_TABLES}


def _by_table(results) -> dict[str, warehouse.TableLoad]:
    return {r.table: r for r in results}


@pytest.fixture
def seeded():
    """A few rows of each source, with personal data planted wherever a source holds it."""
    member = UserFactory(first_name=FIRST, last_name=LAST, email=EMAIL)
    progress = CourseProgressFactory(enrollment__user=member, enrollment__amount_paid=Decimal("49.00"))
    CourseProgressFactory()  # another member's
    payment = PaymentIntentFactory(user=member, paid=True, amount=Decimal("120.00"))
    PaymentIntentFactory()
    attendance = WorkshopAttendanceFactory(
        registration__user=member, participant_name=GUEST_NAME, participant_email=GUEST_EMAIL
    )
    appointment = AppointmentDataFactory(user=member, invitee_name=GUEST_NAME, invitee_email=EMAIL)
    now = timezone.now()
    metric = EmailCampaignMetricFactory(
        email=EmailQueueFactory(user=member, to_email=EMAIL, category="marketing"),
        recipient_email=EMAIL,
        sent_at=now - timedelta(minutes=5),
        opened_at=now,
    )
    return {
        "member": member,
        "progress": progress,
        "payment": payment,
        "attendance": attendance,
        "appointment": appointment,
        "metric": metric,
    }


def test_first_load_fills_every_fact_and_dimension_from_its_source(seeded):
    results = _by_table(warehouse.warehouse_load())
    assert set(results) == set(ALL_TABLES)
    for table in FACT_TABLES:
        assert results[table].inserted == _count(table) > 0, table

    key = user_pseudonym(seeded["member"].pk)
    payment = _row("fact_payment", "payment_id", seeded["payment"].pk)
    assert (payment["member_key"], payment["status"], Decimal(str(payment["amount"]))) == (
        key,
        "succeeded",
        Decimal("120.00"),
    )
    progress = _row("fact_lesson_progress", "progress_id", seeded["progress"].pk)
    assert progress["course_id"] == str(seeded["progress"].lesson.module.course_id)
    assert progress["member_key"] == key
    enrollment = _row("fact_enrollment", "enrollment_id", seeded["progress"].enrollment_id)
    assert Decimal(str(enrollment["amount_paid"])) == Decimal("49.00")
    attendance = _row("fact_workshop_attendance", "attendance_id", seeded["attendance"].pk)
    assert (attendance["member_key"], attendance["duration_minutes"]) == (key, 60)
    appointment = _row("fact_appointment", "appointment_id", seeded["appointment"].pk)
    assert (appointment["duration_minutes"], appointment["therapist_id"]) == (
        50,
        str(seeded["appointment"].therapist_id),
    )
    # One row per event that happened: sent and opened, not clicked, unsubscribed or bounced.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_type, member_key, category FROM warehouse.fact_email_event WHERE metric_id = %s ORDER BY 1",
            [seeded["metric"].pk],
        )
        assert cursor.fetchall() == [("opened", key, "marketing"), ("sent", key, "marketing")]
    assert _row("dim_member", "member_key", key)["is_staff"] is False
    assert _count("dim_course") == 2 and _count("dim_workshop") == 1 and _count("dim_therapist") == 1
    assert _count("dim_date") > 365 * 6
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, last_updated_at FROM warehouse.load_watermark WHERE table_name = %s", ["fact_payment"]
        )
        (_, watermark) = cursor.fetchone()
    assert watermark == max(p.updated_at for p in type(seeded["payment"]).objects.all())


def test_a_rerun_loads_nothing_new_and_changes_nothing(seeded):
    warehouse.warehouse_load()
    before = _snapshot()
    for full in (False, True):
        results = warehouse.warehouse_load(full=full)
        assert [(r.table, r.inserted, r.updated, r.deleted) for r in results] == [
            (table, 0, 0, 0) for table in ALL_TABLES
        ], f"full={full}"
        assert _snapshot() == before, f"full={full}"


def test_a_source_change_after_the_watermark_is_picked_up_and_nothing_else_is_rewritten(seeded):
    warehouse.warehouse_load()
    payment = seeded["payment"]
    payment.amount_refunded, payment.status = Decimal("120.00"), "refunded"
    payment.save()  # updated_at moves past the watermark
    attendance = seeded["attendance"]
    attendance.left_at += timedelta(minutes=30)
    attendance.duration_minutes = 90
    attendance.save()  # no updated_at: its stamp is its latest time

    results = _by_table(warehouse.warehouse_load())
    assert (results["fact_payment"].inserted, results["fact_payment"].updated) == (0, 1)
    assert results["fact_workshop_attendance"].updated == 1
    assert all(
        r.inserted == r.updated == 0
        for t, r in results.items()
        if t not in {"fact_payment", "fact_workshop_attendance"}
    )
    row = _row("fact_payment", "payment_id", payment.pk)
    assert (row["status"], Decimal(str(row["amount_refunded"]))) == ("refunded", Decimal("120.00"))
    assert _row("fact_workshop_attendance", "attendance_id", attendance.pk)["duration_minutes"] == 90
    assert (
        warehouse.warehouse_watermark_get(table="fact_payment") == type(payment).objects.get(pk=payment.pk).updated_at
    )


def test_the_incremental_load_reads_only_from_the_watermark_and_full_reads_everything(seeded):
    payment = seeded["payment"]
    warehouse.warehouse_load()
    # A change the source's stamp does not show (its updated_at well before watermark - LOOKBACK).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payment_intents SET description = 'x', status = 'failed', updated_at = %s WHERE id = %s",
            [timezone.now() - warehouse.LOOKBACK - timedelta(days=2), payment.pk],
        )
    results = _by_table(warehouse.warehouse_load())
    assert results["fact_payment"].since is not None
    assert results["fact_payment"].updated == 0
    assert _row("fact_payment", "payment_id", payment.pk)["status"] == "succeeded"

    results = _by_table(warehouse.warehouse_load(full=True))
    assert results["fact_payment"].since is None and results["fact_payment"].updated == 1
    assert _row("fact_payment", "payment_id", payment.pk)["status"] == "failed"


def test_no_name_email_or_raw_user_id_reaches_any_warehouse_column(seeded):
    warehouse.warehouse_load()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'warehouse' AND column_name ~ %s",
            ["^(.*_)?(email|first_name|last_name|user_id|notes?|reason|description)$|participant|invitee"],
        )
        assert cursor.fetchone()[0] == 0
    dump = "\n".join(row for table in ALL_TABLES for row in _rows(table)).lower()
    assert len(dump) > 1000  # the dump is the data, and there is some
    for canary in CANARIES:
        assert canary.lower() not in dump, canary
    assert str(seeded["member"].pk) not in dump
    assert "@" not in dump


def test_the_member_pseudonym_is_the_log_pseudonym_stable_across_runs_and_keyed(seeded):
    member, payment = seeded["member"], seeded["payment"]
    # The payment changed long before the watermark's look-back: incremental runs skip it.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payment_intents SET updated_at = now() - interval '3 days' WHERE id = %s", [payment.pk])
    warehouse.warehouse_load()
    first = _rows("dim_member")
    warehouse.warehouse_load(full=True)
    warehouse.warehouse_load()
    assert _rows("dim_member") == first
    assert _row("dim_member", "member_key", user_pseudonym(member.pk))["member_key"].startswith("u_")
    fingerprint = warehouse.pseudonym_fingerprint()

    # Another key: every member's pseudonym changes in every table, old rows included (the
    # fingerprint differs, so facts are read whole); the old members are pruned.
    with override_settings(BLOOM_LOG_HMAC_KEY="another-warehouse-test-key"):
        assert warehouse.pseudonym_fingerprint() != fingerprint
        results = _by_table(warehouse.warehouse_load())
        new_key = user_pseudonym(member.pk)
        again = _by_table(warehouse.warehouse_load())
    assert new_key != user_pseudonym(member.pk)
    assert results["dim_member"].deleted == results["dim_member"].inserted == len(first)
    assert all(results[t].since is None for t in FACT_TABLES)
    assert _row("dim_member", "member_key", new_key)
    assert _row("fact_payment", "payment_id", payment.pk)["member_key"] == new_key
    # Under the new key, the next run is incremental again.
    assert all(again[t].since is not None for t in FACT_TABLES)
    assert all(r.inserted == r.updated == 0 for r in again.values())


def test_rows_whose_source_is_gone_are_deleted(seeded):
    warehouse.warehouse_load()
    attendance_id = seeded["attendance"].pk
    seeded["attendance"].delete()
    results = _by_table(warehouse.warehouse_load())
    assert results["fact_workshop_attendance"].deleted == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM warehouse.fact_workshop_attendance WHERE attendance_id = %s", [attendance_id]
        )
        assert cursor.fetchone()[0] == 0
    assert _count("fact_payment") == 2  # nothing else pruned


def test_a_failing_table_leaves_its_rows_and_watermark_as_they_were(seeded, monkeypatch):
    warehouse.warehouse_load()
    before = (_rows("fact_payment"), warehouse.warehouse_watermark_get(table="fact_payment"))
    seeded["payment"].status = "failed"
    seeded["payment"].save()
    # The real load, then a failure after its upsert has run (in the pruning step).
    broken = dataclasses.replace(warehouse.FACT_PAYMENT, prune="DELETE FROM warehouse.fact_payment WHERE 1 / 0 = 1")
    with pytest.raises(Exception, match="division by zero"):
        warehouse.warehouse_table_load(table=broken)
    assert (_rows("fact_payment"), warehouse.warehouse_watermark_get(table="fact_payment")) == before


def test_the_command_prints_a_progress_line_per_table(seeded):
    out = StringIO()
    call_command("warehouse_load", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(ALL_TABLES) + 1
    for index, table in enumerate(ALL_TABLES, 1):
        assert lines[index - 1].startswith(f"[{index}/{len(ALL_TABLES)}] {table} "), lines[index - 1]
    assert "whole source" in out.getvalue()
    assert "0 deleted" in lines[-1]

    out = StringIO()
    call_command("warehouse_load", "--full", stdout=out)
    assert "(full): 0 rows inserted, 0 updated, 0 deleted" in out.getvalue().splitlines()[-1]


def test_the_nightly_task_loads_from_the_watermark_and_beat_sends_it(seeded):
    assert beat_schedule()["bloom-warehouse-load"]["task"] == warehouse_load_task.name == "bloom.warehouse_load_task"
    first = warehouse_load_task()
    assert first["fact_payment"] == 2 and first["dim_date"] > 0
    assert set(warehouse_load_task().values()) == {0}


def test_a_second_load_of_a_table_waits_for_the_first(seeded):
    """Another connection holding the table's load lock (a load in progress) holds this one back."""
    taken, release = threading.Event(), threading.Event()

    def other_load():
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["bloom.warehouse.fact_payment"])
                taken.set()
                release.wait(10)
                cursor.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=other_load)
    thread.start()
    assert taken.wait(10)
    threading.Timer(0.5, release.set).start()
    started = timezone.now()
    result = warehouse.warehouse_table_load(table=warehouse.FACT_PAYMENT)
    waited = (timezone.now() - started).total_seconds()
    thread.join(10)
    assert waited >= 0.45, waited
    assert result.inserted == 2
    # Another table's lock is not this one's: it loads at once.
    started = timezone.now()
    warehouse.warehouse_table_load(table=warehouse.FACT_APPOINTMENT)
    assert (timezone.now() - started).total_seconds() < 0.45


@pytest.fixture
def _empty_warehouse_after():
    """Tests with committed data leave the warehouse empty (the test flush knows only Django's tables)."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(f'warehouse.{t}' for t in ALL_TABLES)}, warehouse.load_watermark")


def test_the_nightly_task_runs_in_a_real_worker(_empty_warehouse_after, celery_worker_process):
    payment = PaymentIntentFactory(paid=True)
    loaded = warehouse_load_task.delay().get(timeout=120)
    assert loaded["fact_payment"] == 1 and loaded["dim_member"] == 1
    assert _row("fact_payment", "payment_id", payment.pk)["member_key"] == user_pseudonym(payment.user_id)
    assert set(warehouse_load_task.delay().get(timeout=120).values()) == {0}
