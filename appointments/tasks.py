"""Thin Celery wrappers around appointments' services and webhooks (ids in, idempotent)."""

from bloom.taskdef import BACKOFF, task

from . import reconcile, reminders, webhooks


@task(retry=BACKOFF)
def calendly_event_process_task(event_id: str) -> str:
    """Apply one stored Calendly event (`WebhookProvider.task_run`), retried with backoff."""
    return webhooks.PROVIDER.task_run(event_id)


@task()
def appointment_reminders_send_task() -> int:
    return reminders.appointment_reminders_send()


@task()
def calendly_reconcile_task() -> dict:
    """Nightly: apply Calendly bookings and cancellations whose webhooks never arrived."""
    return reconcile.calendly_reconcile(days=reconcile.DEFAULT_DAYS).as_dict()
