"""Thin Celery wrappers around appointments' services and webhooks (ids in, idempotent)."""

from celery import shared_task

from bloom.webhooks import PROCESS_TASK_OPTIONS

from . import services, webhooks


@shared_task(**PROCESS_TASK_OPTIONS)
def calendly_event_process_task(event_id: str) -> str:
    """Apply one stored Calendly event (`WebhookProvider.task_run`), retried with backoff."""
    return webhooks.PROVIDER.task_run(event_id)


@shared_task
def appointment_reminders_send_task() -> int:
    return services.appointment_reminders_send()
