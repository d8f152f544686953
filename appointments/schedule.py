"""Periodic tasks of appointments (collected by bloom/celery.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "appointments-reminders-send": {
        "task": "appointments.appointment_reminders_send_task",
        "schedule": 300.0,
    },
    "appointments-calendly-reconcile": {
        "task": "appointments.calendly_reconcile_task",
        "schedule": crontab(hour=3, minute=40),
    },
    # Holds inside the card window, releases, and answers Stripe owed (appointments/holds.py).
    "appointments-holds-sweep": {
        "task": "appointments.appointment_holds_sweep_task",
        "schedule": 900.0,
    },
}
