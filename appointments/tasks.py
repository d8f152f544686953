"""Thin Celery wrappers around appointments' services and webhooks (ids in, idempotent)."""

from bloom.taskdef import BACKOFF, task

from . import holds, reconcile, reminders, webhooks


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


@task(retry=BACKOFF)
def appointment_money_step_task(step: str, appointment_id: str, other_id: str | None = None) -> str:
    """A hold step queued by a Calendly event after commit: place, release or move (holds.py).
    Idempotent (one Stripe call per key); the 15-minute sweep repeats anything left over."""
    if step == "place":
        holds.appointment_hold_place(appointment_id=appointment_id)
    elif step == "release":
        holds.appointment_hold_release(appointment_id=appointment_id)
    elif step == "move":
        holds.appointment_hold_move(old_id=appointment_id, new_id=other_id)
    else:
        raise ValueError(f"unknown money step {step!r}")
    return step


@task()
def appointment_holds_sweep_task() -> dict:
    return holds.appointment_holds_sweep()
