"""The Celery application.

Tasks carry ids only and are idempotent; every durable piece of work is a PostgreSQL row
(ARCHITECTURE.md). Each app may declare periodic tasks in `<app>/schedule.py` as a
`BEAT_SCHEDULE` dict; bloom.beat merges them, `migrate` writes them to django-celery-beat's
tables (docs/adr/0007) and beat's DatabaseScheduler runs what is enabled there. Sending a
task from a request or a service goes through bloom.tasks.send / enqueue (docs/adr/0008).
"""

from celery import Celery

app = Celery("bloom")
# Django's settings, once DJANGO_SETTINGS_MODULE is known to be set: a worker or beat never
# falls back to development settings (bloom.entrypoints). Read when the configuration is
# first needed, so importing `bloom` stays free.
app.config_from_object("bloom.entrypoints:celery_django_settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _declare_workload_queues(sender: Celery, **_kwargs) -> None:
    """Every workload queue of this process's prefix (bloom.queues), derived from the final
    `task_default_queue` whichever settings module set it: a worker started without `-Q`
    consumes them all."""
    from bloom.queues import task_queues

    if not sender.conf.task_queues:
        sender.conf.task_queues = task_queues(prefix=sender.conf.task_default_queue)


@app.on_after_finalize.connect
def _collect_beat_schedules(sender: Celery, **_kwargs) -> None:
    from bloom.beat import beat_schedule

    sender.conf.beat_schedule = {**beat_schedule(), **(sender.conf.beat_schedule or {})}


@app.task(name="bloom.ping", ignore_result=False)
def ping(value: str) -> str:
    """Round-trip task used by the health check and the worker integration test."""
    return f"pong:{value}"
