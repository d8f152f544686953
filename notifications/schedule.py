"""Periodic tasks of notifications (collected by bloom/celery.py)."""

BEAT_SCHEDULE = {
    # Reclaims expired leases and wakes the drain for due rows whose wake-up Redis lost.
    "notifications-email-queue-sweep": {"task": "notifications.email_queue_sweep_task", "schedule": 60.0},
    "notifications-sequence-advance": {"task": "notifications.sequence_enrollments_advance_task", "schedule": 300.0},
}
