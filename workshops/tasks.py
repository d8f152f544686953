"""Thin Celery wrappers around workshops services: ids in, idempotent, retried with backoff."""

from datetime import timedelta

from bloom.taskdef import BACKOFF, task

from . import selectors, services, webhooks


@task(retry=BACKOFF)
def zoom_event_process_task(event_id: str) -> str:
    """Apply one stored Zoom event (`WebhookProvider.task_run`), retried with backoff."""
    return webhooks.PROVIDER.task_run(event_id)


@task(retry=BACKOFF)
def series_progress_update_task(user_id: str, series_id: str) -> int:
    return services.series_progress_update(user_id=user_id, series_id=series_id).sessions_attended


@task(retry=BACKOFF)
def workshop_notice_send_task(kind: str, registration_id: str) -> bool:
    return services.registration_notice_send(kind=kind, registration_id=registration_id)


@task()
def registration_notices_sweep_task() -> int:
    """Send the registration notices whose task Redis lost (two minutes late at most once a
    minute; registration_notice_send sends each notice once)."""
    missing = selectors.registration_notices_missing(older_than=timedelta(minutes=2), within=timedelta(days=2))
    return sum(services.registration_notice_send(kind=kind, registration_id=pk) for kind, pk in missing)


@task()
def waitlist_offers_expire_task() -> int:
    return services.waitlist_offers_expire()


@task()
def registrations_unpaid_release_task() -> int:
    return services.registrations_unpaid_release()
