"""The read-replica router (bloom/dbrouter.py, docs/adr/0154), against a second local database
playing the replica: the test database's schema, with rows of its own that default lacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router, transaction

from billing.models import UserPaymentSummary
from bloom.dbrouter import REPLICA_DB_ALIAS, reporting_alias
from bloom.settings.base import replica_database
from courses.models import CourseOverview, UserCourseStats
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.factories.accounts import UserFactory

# Tests that use the replica name it among their databases, so Django's test case allows it.
with_replica = pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS])

# Ids no factory makes: these rows exist only on the replica (and in REPLICA_ROWS below).
REPLICA_USER_ID = uuid.UUID("00000000-0000-4000-8000-00000000abcd")
REPLICA_COURSE_ID = uuid.UUID("00000000-0000-4000-8000-00000000cdef")

# The two report views become tables on the replica, each with one row default does not have.
REPLICA_ROWS = """
ALTER VIEW user_payment_summary RENAME TO user_payment_summary_view;
CREATE TABLE user_payment_summary (LIKE user_payment_summary_view);
INSERT INTO user_payment_summary (user_id, total_paid, total_refunded, net_paid, payment_count,
    refund_count, open_refund_requests, disputed_count)
    VALUES ('00000000-0000-4000-8000-00000000abcd', 42.00, 0, 42.00, 1, 0, 0, 0);
ALTER VIEW course_overview RENAME TO course_overview_view;
CREATE TABLE course_overview (LIKE course_overview_view);
INSERT INTO course_overview (course_id, title, status, modules_count, lessons_count,
    enrollments_count, completions_count, completion_rate, revenue)
    VALUES ('00000000-0000-4000-8000-00000000cdef', 'Only on the replica', 'published', 1, 1, 7, 3, 42.9, 0);
"""


def _psql(database_url: str, sql: str) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database_url, "-c", sql], check=True)


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """A database `<test db>_replica` with the test database's schema, registered as the
    `replica` alias the way DATABASE_REPLICA_URL would (bloom.settings.base.replica_database).

    Module-scoped so the alias exists before each test's Django test case is built (it
    checks its `databases` then); the tests without a replica come first in this file.
    """
    default = connections.settings[DEFAULT_DB_ALIAS]
    name = f"{default['NAME']}_replica"
    admin_url = database_url_for_subprocess().rsplit("/", 1)[0] + "/postgres"
    replica_url = database_url_for_subprocess().rsplit("/", 1)[0] + f"/{name}"
    _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    _psql(admin_url, f'CREATE DATABASE "{name}"')
    schema = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "-d", database_url_for_subprocess()],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", replica_url], input=schema, check=True)
    _psql(replica_url, REPLICA_ROWS)

    connections.settings[REPLICA_DB_ALIAS] = replica_database(default, {**default, "NAME": name})
    try:
        yield name
    finally:
        connections[REPLICA_DB_ALIAS].close()
        del connections[REPLICA_DB_ALIAS]
        del connections.settings[REPLICA_DB_ALIAS]
        _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.django_db
def test_without_a_replica_every_read_and_write_is_on_default():
    assert REPLICA_DB_ALIAS not in connections.settings
    assert reporting_alias() == DEFAULT_DB_ALIAS
    assert UserPaymentSummary.objects.all().db == DEFAULT_DB_ALIAS
    assert CourseOverview.objects.all().db == DEFAULT_DB_ALIAS
    assert router.db_for_write(UserPaymentSummary) == DEFAULT_DB_ALIAS
    user = UserFactory()
    assert not UserPaymentSummary.objects.filter(user_id=REPLICA_USER_ID).exists()
    assert UserPaymentSummary.objects.get(user=user).payment_count == 0  # the real view, on default


@with_replica
def test_report_models_read_the_replicas_rows(replica):
    summary = UserPaymentSummary.objects.get(user_id=REPLICA_USER_ID)
    assert summary.net_paid == Decimal("42.00")
    assert summary._state.db == REPLICA_DB_ALIAS
    overview = CourseOverview.objects.get(course_id=REPLICA_COURSE_ID)
    assert overview.title == "Only on the replica"
    assert overview.enrollments_count == 7
    assert UserCourseStats.objects.all().db == REPLICA_DB_ALIAS
    # Default has neither row: read there explicitly, they are not found.
    assert not UserPaymentSummary.objects.using(DEFAULT_DB_ALIAS).filter(user_id=REPLICA_USER_ID).exists()
    assert not CourseOverview.objects.using(DEFAULT_DB_ALIAS).filter(course_id=REPLICA_COURSE_ID).exists()


@with_replica
def test_raw_report_sql_uses_the_replica_through_reporting_alias(replica):
    assert reporting_alias() == REPLICA_DB_ALIAS
    with connections[reporting_alias()].cursor() as cursor:
        cursor.execute("SELECT title FROM course_overview WHERE course_id = %s", [REPLICA_COURSE_ID])
        assert cursor.fetchone() == ("Only on the replica",)


@with_replica
def test_writes_and_every_other_read_stay_on_default(replica):
    user = UserFactory(email="written-here@bloom.test")
    assert user._state.db == DEFAULT_DB_ALIAS
    assert router.db_for_write(UserPaymentSummary) == DEFAULT_DB_ALIAS
    assert router.db_for_write(type(user)) == DEFAULT_DB_ALIAS
    assert type(user).objects.all().db == DEFAULT_DB_ALIAS
    assert type(user).objects.filter(email="written-here@bloom.test").exists()
    with connections[REPLICA_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM users WHERE email = %s", ["written-here@bloom.test"])
        assert cursor.fetchone() == (0,)


@with_replica
def test_migrations_never_run_on_the_replica(replica):
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "billing", model_name="userpaymentsummary")
    assert not router.allow_migrate(REPLICA_DB_ALIAS, "billing", model_name="userpaymentsummary")
    assert not router.allow_migrate(REPLICA_DB_ALIAS, "accounts", model_name="user")


@with_replica
def test_a_write_sent_to_the_replica_by_mistake_fails(replica):
    with (
        pytest.raises(DatabaseError, match="read-only transaction"),
        transaction.atomic(using=REPLICA_DB_ALIAS),
        connections[REPLICA_DB_ALIAS].cursor() as cursor,
    ):
        cursor.execute("DELETE FROM user_payment_summary")
    with connections[REPLICA_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM user_payment_summary")
        assert cursor.fetchone() == (1,)


PROBE = """
import json, django
django.setup()
from django.conf import settings
print("PROBE" + json.dumps({alias: {"NAME": db["NAME"], "HOST": db["HOST"], "options": db["OPTIONS"].get("options"),
    "router": settings.DATABASE_ROUTERS} for alias, db in settings.DATABASES.items()}))
"""


def _settings_probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "bloom.settings.dev", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith("PROBE"))[5:])


def test_database_replica_url_adds_a_read_only_replica_alias():
    databases = _settings_probe(DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/bloom")
    assert databases["replica"] == {
        "NAME": "bloom",
        "HOST": "replica.internal",
        "options": "-c default_transaction_read_only=on",
        "router": ["bloom.dbrouter.ReplicaRouter"],
    }
    assert databases["default"]["HOST"] != "replica.internal"
    assert "replica" not in _settings_probe()
    # The suite itself never reads from a replica, even with the variable set.
    assert "replica" not in _settings_probe(
        DJANGO_SETTINGS_MODULE="bloom.settings.test", DATABASE_REPLICA_URL="postgres://reader@replica.internal/bloom"
    )
