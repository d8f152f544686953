"""Periodic tasks of appointments (collected by bloom/celery.py)."""

BEAT_SCHEDULE = {
    "appointments-reminders-send": {
        "task": "appointments.appointment_reminders_send_task",
        "schedule": 300.0,
    },
}
