"""Thin Celery wrappers around workshops services: ids in, idempotent, retried with backoff."""

from datetime import timedelta

from celery import shared_task

from bloom.webhooks import MAX_ATTEMPTS, PROCESS_TASK_OPTIONS

from . import selectors, services, webhooks

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": MAX_ATTEMPTS}


@shared_task(name="workshops.zoom_event_process_task", **PROCESS_TASK_OPTIONS)
def zoom_event_process_task(event_id: str) -> str:
    """Apply one stored Zoom event (`WebhookProvider.task_run`), retried with backoff."""
    return webhooks.PROVIDER.task_run(event_id)


@shared_task(name="workshops.series_progress_update_task", **RETRY)
def series_progress_update_task(user_id: str, series_id: str) -> int:
    return services.series_progress_update(user_id=user_id, series_id=series_id).sessions_attended


@shared_task(name="workshops.workshop_notice_send_task", **RETRY)
def workshop_notice_send_task(kind: str, registration_id: str) -> bool:
    return services.registration_notice_send(kind=kind, registration_id=registration_id)


@shared_task(name="workshops.registration_notices_sweep_task")
def registration_notices_sweep_task() -> int:
    """Send the registration notices whose task Redis lost (two minutes late at most once a
    minute; registration_notice_send sends each notice once)."""
    missing = selectors.registration_notices_missing(older_than=timedelta(minutes=2), within=timedelta(days=2))
    return sum(services.registration_notice_send(kind=kind, registration_id=pk) for kind, pk in missing)


@shared_task(name="workshops.waitlist_offers_expire_task")
def waitlist_offers_expire_task() -> int:
    return services.waitlist_offers_expire()


@shared_task(name="workshops.registrations_unpaid_release_task")
def registrations_unpaid_release_task() -> int:
    return services.registrations_unpaid_release()
