"""Thin Celery wrappers; each is idempotent and safe to run twice or concurrently."""

from django.conf import settings

from bloom.taskdef import task


@task()
def email_queue_drain_task() -> int:
    """Drain the outbox for up to BLOOM_EMAIL_DRAIN_SECONDS, then hand over to a fresh task.

    No hand-over when the mail server is down: a fresh drain would only spend the next rows'
    attempts on it; beat's sweeper wakes the drain again within a minute.
    """
    from .drain import email_queue_drain

    result = email_queue_drain(max_seconds=getattr(settings, "BLOOM_EMAIL_DRAIN_SECONDS", 50))
    if result.stopped_early and not result.transport_down:
        email_queue_drain_task.delay()
    return result.sent


@task()
def email_queue_sweep_task() -> int:
    from .services import email_queue_sweep

    return email_queue_sweep().due


@task()
def sequence_enrollments_advance_task() -> int:
    from .services import sequence_enrollments_advance

    return sequence_enrollments_advance()
