"""Project-wide periodic tasks (collected by bloom/beat.py)."""

from celery.schedules import crontab
from django.conf import settings

BEAT_SCHEDULE = {
    # Approved posts, lessons and other content scheduled for publication (docs/adr/0390).
    "bloom-content-publish-due": {
        "task": "bloom.content_publish_due_task",
        "schedule": 60.0,
    },
    # Webhook events of every provider whose wake-up was lost (bloom.webhooks.WebhookProvider.sweep).
    "bloom-webhooks-sweep": {
        "task": "bloom.webhooks_sweep_task",
        "schedule": 300.0,
    },
    "bloom-retention-apply": {
        "task": "bloom.retention_apply_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # `manage.py cleanup_orphans --fix` every night; pause it in the admin to repair by hand only.
    "bloom-orphans-cleanup": {
        "task": "bloom.orphans_cleanup_task",
        "schedule": crontab(hour=4, minute=15),
        "kwargs": {"fix": True},
    },
    # The warehouse tables from their watermarks, after retention and orphan cleanup (docs/warehouse.md).
    "bloom-warehouse-load": {
        "task": "bloom.warehouse_load_task",
        "schedule": crontab(hour=4, minute=45),
    },
    # The admin reports' materialized views, CONCURRENTLY, so pages never wait (bloom/reports.py).
    "bloom-reports-refresh": {
        "task": "bloom.reports_refresh_task",
        "schedule": crontab(minute=7),
    },
}

# Entries an earlier release wrote and this one no longer has: `migrate` deletes their rows,
# so beat never sends a task that is gone (bloom/beat.py). The three sweeps are one now.
RETIRED_BEAT_ENTRIES = [
    "billing-stripe-events-sweep",
    "appointments-calendly-events-sweep",
    "workshops-zoom-events-sweep",
]

# Nightly `manage.py backup` (docs/operations.md), only where BLOOM_BACKUP_DIR says where to write.
if settings.BLOOM_BACKUP_DIR:
    BEAT_SCHEDULE["bloom-backup"] = {"task": "bloom.backup_task", "schedule": crontab(hour=2, minute=45)}
