"""Project-wide periodic tasks."""

import logging

from celery import shared_task

from bloom.retention import retention_apply

logger = logging.getLogger(__name__)


@shared_task(name="bloom.retention_apply_task")
def retention_apply_task() -> dict[str, int]:
    """Nightly: apply the data-retention policies (docs/adr/0081)."""
    results = retention_apply()
    summary = {f"{r.app_label}: {r.policy.name}": r.changed for r in results}
    logger.info("retention applied: %s", summary)
    return summary
