"""Thin Celery wrappers around appointments' services and webhooks (ids in, idempotent)."""

from bloom.taskdef import BACKOFF, task

from . import services, webhooks


@task(retry=BACKOFF)
def calendly_event_process_task(event_id: str) -> str:
    """Apply one stored Calendly event (`WebhookProvider.task_run`), retried with backoff."""
    return webhooks.PROVIDER.task_run(event_id)


@task()
def appointment_reminders_send_task() -> int:
    return services.appointment_reminders_send()
