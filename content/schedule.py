"""Periodic content jobs, merged into Celery beat by bloom/celery.py."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "content-campaign-send-due": {
        "task": "content.campaign_send_due_task",
        "schedule": 60.0,
    },
    "content-subscriber-engagement-recompute": {
        "task": "content.subscriber_engagement_recompute_task",
        "schedule": crontab(hour=3, minute=30),
    },
}
