"""Periodic tasks of appointments (collected by bloom/celery.py)."""

BEAT_SCHEDULE = {
    "appointments-calendly-events-sweep": {
        "task": "appointments.tasks.calendly_events_sweep_task",
        "schedule": 300.0,
    },
    "appointments-reminders-send": {
        "task": "appointments.tasks.appointment_reminders_send_task",
        "schedule": 300.0,
    },
}
