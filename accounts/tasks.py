"""Thin Celery wrappers for accounts; each is idempotent and safe to run twice or concurrently."""

from bloom.taskdef import task


@task()
def risk_alerts_escalate_task() -> int:
    """Escalate risk alerts left unacknowledged too long to the owners (each alert once)."""
    from .services import risk_alerts_escalate

    return risk_alerts_escalate()


@task()
def screening_reminders_send_task() -> int:
    """Offer members the screening points they reached (one notice per point, once)."""
    from .services import screening_reminders_send

    return screening_reminders_send()


@task()
def data_request_reminders_send_task() -> int:
    """Remind owners and support of data requests near their one-month deadline (once a day each)."""
    from .services import data_request_reminders_send

    return data_request_reminders_send()


@task()
def data_request_farewells_scrub_task() -> int:
    """Blank the address of each sent 'your account has been deleted' email (idempotent)."""
    from .services import data_request_farewells_scrub

    return data_request_farewells_scrub()
