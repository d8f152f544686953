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
}
