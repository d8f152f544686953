"""Reminders through a real Celery worker subprocess killed mid-send: none is sent twice, none is lost.

The worker is stopped inside a reminder's transaction, after it claimed the reminder-log row and
while it writes the portal notice: a trigger made for this test makes that insert wait on an
advisory lock the test holds. The worker is then SIGKILLed; PostgreSQL rolls its transaction
back (claim, notice and outbox row together), a new worker runs the beat task again, and every
member gets exactly one notice and one email (counted at a real SMTP server).
"""

from __future__ import annotations

import signal
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import AppointmentReminderLog
from appointments.tasks import appointment_reminders_send_task
from notifications.models import EmailQueue, EmailStatus, UserNotification
from tests.conftest import database_url_for_subprocess
from tests.factories.appointments import AppointmentDataFactory
from tests.notifications import conftest as mail_servers
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

LOCK_KEY = 4_211_003  # the advisory lock the trigger waits on


@pytest.fixture
def sink(settings, monkeypatch):
    """A real SMTP server; the worker started afterwards sends to it."""
    server = mail_servers.SmtpSink()
    server.controller.start()
    mail_servers.point_smtp_at(server.port, settings, monkeypatch)
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def stall_notice_for(transactional_db):
    """`stall(appointment_id)`: inserting that appointment's notice waits on LOCK_KEY (held here)."""
    holder = psycopg.connect(database_url_for_subprocess(), autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])

    def stall(appointment_id) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION test_stall_reminder_notice() RETURNS trigger AS $$
                BEGIN
                    IF NEW.data->>'appointment_id' = '{appointment_id}' THEN
                        PERFORM pg_advisory_xact_lock({LOCK_KEY});
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql;
                DROP TRIGGER IF EXISTS test_stall_reminder_notice ON user_notifications;
                CREATE TRIGGER test_stall_reminder_notice BEFORE INSERT ON user_notifications
                    FOR EACH ROW EXECUTE FUNCTION test_stall_reminder_notice();
                """  # noqa: S608 - a uuid and a constant of this test
            )

    try:
        yield stall, holder
    finally:
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_stall_reminder_notice ON user_notifications")
            cursor.execute("DROP FUNCTION IF EXISTS test_stall_reminder_notice()")


def _waiting_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted", [LOCK_KEY]
        )
        return [row[0] for row in cursor.fetchall()]


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 1


def test_a_worker_killed_mid_send_sends_each_reminder_exactly_once(sink, stall_notice_for, celery_worker_process):
    stall, holder = stall_notice_for
    now = timezone.now().replace(microsecond=0)
    appointments = [
        AppointmentDataFactory(starts_at=now + timedelta(minutes=60 + i), ends_at=now + timedelta(minutes=110 + i))
        for i in range(3)
    ]
    stall(appointments[1].pk)  # the second reminder of the run stops inside its transaction

    appointment_reminders_send_task.delay()
    wait_until(lambda: _waiting_backends(), timeout=60, what="the worker to reach the second reminder")
    (stalled_backend,) = _waiting_backends()
    # The first reminder is committed; the second has claimed its log row, but not committed it.
    assert AppointmentReminderLog.objects.filter(appointment=appointments[0]).count() == 2
    assert not AppointmentReminderLog.objects.filter(appointment=appointments[1]).exists()

    celery_worker_process.kill(signal.SIGKILL)
    holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])  # its backend moves on, finds the client gone
    wait_until(lambda: not _backend_alive(stalled_backend), timeout=30, what="the dead worker's backend to end")
    assert not AppointmentReminderLog.objects.filter(appointment=appointments[1]).exists()  # rolled back whole
    assert not UserNotification.objects.filter(user=appointments[1].user).exists()

    celery_worker_process.start()
    appointment_reminders_send_task.delay()  # beat's next run
    wait_until(
        lambda: EmailQueue.objects.filter(status=EmailStatus.SENT).count() == 3,
        timeout=90,
        what=lambda: f"three reminders sent ({EmailQueue.objects.values_list('status', flat=True)})",
    )
    appointment_reminders_send_task.delay()  # and one more: nothing left to send
    sink.wait_for(4, timeout=5)

    for appointment in appointments:
        logs = AppointmentReminderLog.objects.filter(appointment=appointment)
        assert sorted(logs.values_list("kind", "channel")) == [("2h", "email"), ("2h", "portal")]
        assert UserNotification.objects.filter(user=appointment.user).count() == 1
    received = Counter(str(message["To"]) for message in sink.messages)
    assert received == Counter(appointment.user.email for appointment in appointments)
