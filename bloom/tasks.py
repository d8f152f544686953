"""Project-wide periodic tasks."""

import logging

from celery import shared_task

from bloom.orphans import orphans_cleanup
from bloom.retention import retention_apply

logger = logging.getLogger(__name__)


@shared_task(name="bloom.retention_apply_task")
def retention_apply_task() -> dict[str, int]:
    """Nightly: apply the data-retention policies (docs/adr/0081)."""
    results = retention_apply()
    summary = {f"{r.app_label}: {r.policy.name}": r.changed for r in results}
    logger.info("retention applied: %s", summary)
    return summary


@shared_task(name="bloom.orphans_cleanup_task")
def orphans_cleanup_task(fix: bool = True) -> dict[str, int]:
    """Nightly: what `manage.py cleanup_orphans --fix` does (staff pause the periodic task to
    repair only by hand). Logs each check that found something; returns the totals."""
    results = orphans_cleanup(fix=fix)
    for result in results:
        if result.found:
            logger.warning(
                "orphans: %s: %s: %d found, %d fixed", result.app_label, result.check.name, result.found, result.fixed
            )
    return {"checks": len(results), "found": sum(r.found for r in results), "fixed": sum(r.fixed for r in results)}
