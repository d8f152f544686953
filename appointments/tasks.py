"""Thin Celery wrappers around appointments.services (ids in, idempotent)."""

from celery import shared_task

from . import services


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=7,
)
def calendly_event_process_task(self, event_id: str) -> str:
    return services.calendly_event_process(event_id=event_id)


@shared_task
def calendly_events_sweep_task() -> int:
    return services.calendly_events_sweep()


@shared_task
def appointment_reminders_send_task() -> int:
    return services.appointment_reminders_send()
