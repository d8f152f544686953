"""Periodic billing tasks (collected by bloom/beat.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Requests Stripe gave no clear answer to, sent again when due (billing.services.stripe_check_run).
    "billing-stripe-checks-sweep": {
        "task": "billing.stripe_checks_sweep_task",
        "schedule": 30.0,
    },
    # Fetches the events Stripe created in the last six hours and stores any never delivered.
    "billing-stripe-events-reconcile": {
        "task": "billing.stripe_events_reconcile_task",
        "schedule": crontab(minute=17),
        "kwargs": {"hours": 6},
    },
}
