"""Issue 10 point 6: the beat schedule is in django-celery-beat's tables from the first
migrate, staff can pause a task in the admin, a re-migrate keeps the pause, and a real beat
process (DatabaseScheduler) does not send a paused task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounts.models import User
from bloom.beat import beat_schedule, beat_schedule_sync
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def test_migrate_wrote_every_entry_of_the_code_schedule():
    schedule = beat_schedule()
    tasks = {task.name: task for task in PeriodicTask.objects.select_related("interval", "crontab")}
    assert set(schedule) <= set(tasks)
    for name, entry in schedule.items():
        task = tasks[name]
        assert task.enabled, name
        assert task.task == entry["task"]
        assert json.loads(task.kwargs) == entry.get("kwargs", {})
        if isinstance(entry["schedule"], float):
            assert (task.interval.every, task.interval.period) == (int(entry["schedule"]), IntervalSchedule.SECONDS)
            assert task.crontab is None
        else:
            assert task.interval is None and task.crontab is not None


def test_orphan_cleanup_and_stripe_reconciliation_have_schedules_of_their_own():
    orphans = PeriodicTask.objects.get(name="bloom-orphans-cleanup")
    assert orphans.task == "bloom.orphans_cleanup_task"
    assert (orphans.crontab.hour, orphans.crontab.minute) == ("4", "15")
    assert json.loads(orphans.kwargs) == {"fix": True}
    reconcile = PeriodicTask.objects.get(name="billing-stripe-events-reconcile")
    assert reconcile.task == "billing.stripe_events_reconcile_task"
    assert (reconcile.crontab.hour, reconcile.crontab.minute) == ("*", "17")
    assert json.loads(reconcile.kwargs) == {"hours": 6}


def test_the_scheduled_tasks_exist_under_the_names_beat_sends():
    from bloom.celery import app

    app.loader.import_default_modules()
    for name, entry in beat_schedule().items():
        assert entry["task"] in app.tasks, name


def test_a_second_sync_changes_nothing_and_adds_no_schedule_rows():
    intervals, crontabs = IntervalSchedule.objects.count(), CrontabSchedule.objects.count()
    result = beat_schedule_sync()
    assert result.created == [] and result.updated == []
    assert sorted(result.unchanged) == sorted(beat_schedule())
    assert (IntervalSchedule.objects.count(), CrontabSchedule.objects.count()) == (intervals, crontabs)


def test_a_pause_and_staff_fields_survive_a_re_migrate_while_the_code_keeps_the_timing():
    sweep = PeriodicTask.objects.get(name="notifications-email-queue-sweep")
    sweep.enabled = False
    sweep.description = "Paused during the SMTP move (Dana)"
    sweep.interval = IntervalSchedule.objects.create(every=3600, period=IntervalSchedule.SECONDS)
    sweep.save()
    own = PeriodicTask.objects.create(
        name="staff: nightly recompute",
        task="content.subscriber_engagement_recompute_task",
        interval=IntervalSchedule.objects.get_or_create(every=86400, period=IntervalSchedule.SECONDS)[0],
        enabled=False,
    )
    PeriodicTask.objects.filter(name="bloom-retention-apply").delete()

    call_command("migrate", verbosity=0, interactive=False)

    sweep.refresh_from_db()
    assert sweep.enabled is False
    assert sweep.description == "Paused during the SMTP move (Dana)"
    # Timing belongs to notifications/schedule.py (beat rewrites it at start too).
    assert sweep.interval.every == 60
    own.refresh_from_db()
    assert own.enabled is False and own.interval.every == 86400
    assert PeriodicTask.objects.get(name="bloom-retention-apply").enabled


def test_staff_see_and_pause_a_schedule_in_the_admin(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    owner = User.objects.create_superuser("owner@example.com", "a-Long-test-passphrase-2026")
    client.force_login(owner)
    listing = client.get("/admin/django_celery_beat/periodictask/")
    assert listing.status_code == 200
    for name in ("bloom-orphans-cleanup", "billing-stripe-events-reconcile", "notifications-email-queue-sweep"):
        assert name in listing.content.decode()

    task = PeriodicTask.objects.get(name="bloom-orphans-cleanup")
    response = client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.enabled is False


def _queued_task_names(prefix: str) -> list[str]:
    """The names of the tasks waiting on every workload queue of `prefix` (bloom.queues)."""
    from bloom.celery import app
    from bloom.queues import queue_names

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return [
            json.loads(raw)["headers"]["task"]
            for queue in queue_names(prefix=prefix)
            for raw in client.lrange(queue, 0, -1)
        ]


@pytest.mark.worker
@pytest.mark.slow
def test_a_real_beat_sends_due_tasks_but_not_a_paused_one(transactional_db):
    """Two tasks long overdue; staff paused one. Beat sends the other at once and never the paused one."""
    long_ago = timezone.now() - timedelta(days=1)
    PeriodicTask.objects.filter(name__in=["notifications-email-queue-sweep", "content-campaign-send-due"]).update(
        last_run_at=long_ago
    )
    PeriodicTask.objects.filter(name="content-campaign-send-due").update(enabled=False)

    queue = f"bloom-test-beat-{uuid.uuid4().hex[:8]}"
    log_path = BASE_DIR / ".services" / f"beat-{queue}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bloom.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "BLOOM_CELERY_QUEUE": queue,
    }
    with log_path.open("wb") as log:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bloom", "beat", "--loglevel", "INFO", "--pidfile="],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def beat_running() -> None:
                assert beat.poll() is None, log_path.read_text()[-3000:]

            wait_until(
                lambda: "notifications.email_queue_sweep_task" in _queued_task_names(queue),
                timeout=60,
                interval=0.5,
                what="beat to send the sweep",
                check=beat_running,
            )
            # A few more beats: the paused task, just as overdue, would have been sent with it.
            time.sleep(3)
            sent = _queued_task_names(queue)
        finally:
            beat.terminate()
            beat.wait(timeout=30)
            from bloom.celery import app
            from bloom.queues import queue_names

            with app.connection_for_write() as connection:
                connection.default_channel.client.delete(*queue_names(prefix=queue))

    assert "notifications.email_queue_sweep_task" in sent, log_path.read_text()[-3000:]
    assert "content.campaign_send_due_task" not in sent
    paused = PeriodicTask.objects.get(name="content-campaign-send-due")
    # (django-celery-beat clears last_run_at whenever it saves a disabled task.)
    assert paused.enabled is False and paused.total_run_count == 0
    ran = PeriodicTask.objects.get(name="notifications-email-queue-sweep")
    assert ran.enabled and ran.last_run_at > long_ago
