"""The Celery application.

Tasks carry ids only and are idempotent; every durable piece of work is a PostgreSQL row
(ARCHITECTURE.md). Each app may declare periodic tasks in `<app>/schedule.py` as a
`BEAT_SCHEDULE` dict; bloom.beat merges them, `migrate` writes them to django-celery-beat's
tables (docs/adr/0007) and beat's DatabaseScheduler runs what is enabled there. Sending a
task from a request or a service goes through bloom.tasks.send / enqueue (docs/adr/0008).
"""

from celery import Celery
from celery.signals import task_postrun, task_prerun

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


# The audit trail credits a task's writes to the task (bloom/audit.py, docs/adr/0310). The
# context is a context variable, pushed before the task runs and popped (with the database
# session's setting cleared) after it, so the next task on the same connection starts clean.
_audit_contexts: dict[str, object] = {}


@task_prerun.connect(dispatch_uid="bloom-audit-task-prerun")
def _audit_task_prerun(task_id=None, task=None, **_kwargs) -> None:
    from bloom.audit import audit_context, task_context

    context = audit_context(task_context(getattr(task, "name", "") or "", task_id))
    context.__enter__()
    _audit_contexts[task_id] = context


@task_postrun.connect(dispatch_uid="bloom-audit-task-postrun")
def _audit_task_postrun(task_id=None, **_kwargs) -> None:
    context = _audit_contexts.pop(task_id, None)
    if context is not None:
        context.__exit__(None, None, None)
