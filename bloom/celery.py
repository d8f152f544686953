"""The Celery application.

Tasks carry ids only and are idempotent; every durable piece of work is a PostgreSQL row
(ARCHITECTURE.md). Each app may declare periodic tasks in `<app>/schedule.py` as a
`BEAT_SCHEDULE` dict; bloom.beat merges them, `migrate` writes them to django-celery-beat's
tables (docs/adr/0007) and beat's DatabaseScheduler runs what is enabled there. Sending a
task from a request or a service goes through bloom.tasks.send / enqueue (docs/adr/0008).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bloom.settings.dev")

app = Celery("bloom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _collect_beat_schedules(sender: Celery, **_kwargs) -> None:
    from bloom.beat import beat_schedule

    sender.conf.beat_schedule = {**beat_schedule(), **(sender.conf.beat_schedule or {})}


@app.task(name="bloom.ping", ignore_result=False)
def ping(value: str) -> str:
    """Round-trip task used by the health check and the worker integration test."""
    return f"pong:{value}"
