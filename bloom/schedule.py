"""Project-wide periodic tasks (collected by bloom/celery.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "bloom-retention-apply": {
        "task": "bloom.retention_apply_task",
        "schedule": crontab(hour=3, minute=30),
    },
}
