"""Thin Celery wrappers: ids in, services out. All are idempotent and safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from bloom.taskdef import BACKOFF, task

from . import selectors, services, stripe_client, webhooks

logger = logging.getLogger(__name__)


@task(ignore_result=True)
def stripe_events_drain_task() -> int:
    """Apply every stored event not yet attempted (woken by deliveries; see webhooks.stripe_events_drain)."""
    return webhooks.stripe_events_drain()


@task(retry=BACKOFF)
def stripe_event_process_task(event_id: str) -> str:
    """Apply one stored event (`WebhookProvider.task_run`); a failure is retried with backoff until
    the row's attempts reach MAX_ATTEMPTS (the sweep and `webhooks_reprocess` take over then)."""
    return webhooks.PROVIDER.task_run(event_id)


@task(ignore_result=True)
def djstripe_mirror_task(event_ids: list[str]) -> int:
    """Best-effort copy into dj-stripe's tables; never fails (see billing.webhooks.djstripe_mirror)."""
    return sum(webhooks.djstripe_mirror(event_id=event_id) == "mirrored" for event_id in event_ids)


@task(ignore_result=True)
def stripe_events_reconcile_task(hours: int = 6) -> int:
    """Hourly: what `manage.py stripe_reconcile --since 6h` does, storing (and so processing)
    events of the last `hours` that never arrived. When Stripe cannot be reached the run is
    logged and skipped; the next one looks back over the same hours."""
    try:
        _fetched, inserted = webhooks.stripe_events_reconcile(since=timezone.now() - timedelta(hours=hours))
    except stripe_client.StripeCallError as exc:
        logger.warning("Stripe reconciliation skipped, Stripe did not answer: %s", exc.message)
        return 0
    if inserted:
        logger.warning("Stripe reconciliation stored %d event(s) Bloom never received", inserted)
    return inserted


@task(ignore_result=True)
def stripe_check_run_task(check_id: str) -> str:
    """Ask Stripe again about one open check once it is due: the same request with the same
    idempotency key (billing.services.stripe_check_run; safe to run twice)."""
    return services.stripe_check_run(check_id=check_id)


@task(ignore_result=True)
def stripe_checks_sweep_task() -> int:
    """Every 30 s: queue a run for each check with Stripe whose next attempt is due.

    The checks are rows, so nothing is lost when Redis is: the next sweep finds them again.
    """
    ids = selectors.stripe_check_list_due()
    for check_id in ids:
        stripe_check_run_task.delay(check_id)
    return len(ids)
