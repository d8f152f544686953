"""Project-wide periodic tasks (collected by bloom/beat.py)."""

from celery.schedules import crontab
from django.conf import settings

BEAT_SCHEDULE = {
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
}
# Nightly `manage.py backup` (docs/operations.md), only where BLOOM_BACKUP_DIR says where to write.
if settings.BLOOM_BACKUP_DIR:
    BEAT_SCHEDULE["bloom-backup"] = {"task": "bloom.backup_task", "schedule": crontab(hour=2, minute=45)}
