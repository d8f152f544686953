"""Periodic billing tasks (collected by bloom/celery.py)."""

BEAT_SCHEDULE = {
    "billing-stripe-events-sweep": {
        "task": "billing.tasks.stripe_events_sweep_task",
        "schedule": 300.0,
    },
}
