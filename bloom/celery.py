"""The Celery application.

Tasks carry ids only and are idempotent; every durable piece of work is a PostgreSQL row
(ARCHITECTURE.md). Each app may declare periodic tasks in `<app>/schedule.py` as a
`BEAT_SCHEDULE` dict; they are merged here and synced into django-celery-beat's tables
by its DatabaseScheduler when beat starts.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bloom.settings.dev")

app = Celery("bloom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _collect_beat_schedules(sender: Celery, **_kwargs) -> None:
    from bloom.discovery import local_app_modules

    schedule = {}
    for _label, module in local_app_modules("schedule"):
        schedule.update(module.BEAT_SCHEDULE)
    sender.conf.beat_schedule = {**schedule, **(sender.conf.beat_schedule or {})}


@app.task(name="bloom.ping")
def ping(value: str) -> str:
    """Round-trip task used by the health check and the worker integration test."""
    return f"pong:{value}"
