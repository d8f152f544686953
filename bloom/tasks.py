"""Sending tasks without waiting on Redis, and the project-wide periodic tasks."""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

from bloom.orphans import orphans_cleanup
from bloom.outage import OutageGate
from bloom.retention import retention_apply
from bloom.taskdef import task
from bloom.webhooks import webhook_providers

logger = logging.getLogger(__name__)

broker_gate = OutageGate("Celery broker")


def send(task, *args) -> bool:
    """Send `task` now; never raise, never wait long (docs/adr/0008).

    For work whose durable row a beat sweeper re-sends: with the broker down this costs one
    connect attempt bounded by CELERY_BROKER_CONNECTION_TIMEOUT (no publish retries, no
    result subscription), or nothing at all for BLOOM_REDIS_OUTAGE_SECONDS after a failure.
    Returns whether the message was handed to the broker.
    """
    if not broker_gate.open():
        logger.info("broker unavailable; %s%r left to the sweeper", task.name, args)
        return False
    try:
        task.delay(*args)
    except Exception as exc:  # noqa: BLE001 - whatever the broker raised, the row is safe in PostgreSQL
        broker_gate.failed(exc)
        logger.warning("could not send %s%r; the sweeper will", task.name, args, exc_info=True)
        return False
    broker_gate.succeeded()
    return True


def enqueue(task, *args) -> None:
    """Send `task` once the current transaction commits (at once outside one), as `send` does."""
    transaction.on_commit(partial(send, task, *args))


@task(ignore_result=False)
def retention_apply_task() -> dict[str, int]:
    """Nightly: apply the data-retention policies (docs/adr/0081, 0350; docs/operations.md "Retention")."""
    results = retention_apply()
    summary = {f"{r.app_label}: {r.policy.name}": r.changed for r in results}
    logger.info("retention applied: %s", summary)
    return summary


@task()
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


@task(ignore_result=True)
def webhooks_sweep_task() -> dict[str, int]:
    """Every 5 minutes, for every webhook provider: send again the events still unprocessed
    a few minutes after they arrived (their wake-up was lost with Redis; docs/adr/0003)."""
    swept = {name: provider.sweep() for name, provider in webhook_providers().items()}
    if any(swept.values()):
        logger.info("webhook events sent again: %s", swept)
    return swept


@task()
def backup_task() -> str:
    """Nightly: `manage.py backup` into BLOOM_BACKUP_DIR (nothing when it is unset)."""
    from django.conf import settings
    from django.core.management import call_command

    if not settings.BLOOM_BACKUP_DIR:
        logger.info("backup skipped: BLOOM_BACKUP_DIR is not set")
        return "skipped"
    call_command("backup")
    return "done"


@task(ignore_result=True)
def reports_refresh_task() -> dict[str, float]:
    """Hourly: refresh every reporting view CONCURRENTLY, then `report_refreshes` (the
    "Figures as of" on every report page; bloom/reports.py). Seconds per view."""
    from bloom.reports import report_views_refresh

    return report_views_refresh()


@task(ignore_result=False)
def warehouse_load_task(full: bool = False) -> dict[str, int]:
    """Nightly: load the warehouse tables from their watermarks (docs/warehouse.md); what
    `manage.py warehouse_load` does. Returns rows inserted and updated per table."""
    from bloom.warehouse import warehouse_load

    results = warehouse_load(full=full)
    return {r.table: r.inserted + r.updated for r in results}


@task(ignore_result=False)
def content_publish_due_task() -> dict[str, int]:
    """Every minute: publish the scheduled content whose time has come (bloom/workflow.py)."""
    from bloom.workflow import content_publish_due

    result = content_publish_due()
    if result.published or result.refused:
        logger.info("scheduled content: %d published, %d refused", len(result.published), len(result.refused))
    return {"published": len(result.published), "refused": len(result.refused)}
