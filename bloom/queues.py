"""Which Celery queue each task runs on: the one routing table (docs/adr/0153).

Every task is named `<app>.<function>` (bloom.taskdef), so routing is by name: `ROUTES` maps a
task name to a workload, and a workload to a queue named from the deployment's queue prefix
(`BLOOM_CELERY_QUEUE`, "bloom" by default):

    default      <prefix>              anything not routed below
    mail         <prefix>.mail         the outbox drain (every email goes out here, by priority)
    campaigns    <prefix>.campaigns    bulk fan-out into the outbox: campaigns, sequences
    webhooks     <prefix>.webhooks     Stripe, Calendly and Zoom events; Stripe checks
    alerts       <prefix>.alerts       clinical risk-alert escalation
    reminders    <prefix>.reminders    screening, appointment and workshop reminders/notices
    reports      <prefix>.reports      aggregates and report/warehouse loads
    maintenance  <prefix>.maintenance  retention, orphans, backups, sweeps

A worker started without `-Q` consumes every queue of its prefix (bloom.celery sets
`task_queues` from it), which is what development, the test fixture and a one-host deployment
run; deploy/Procfile runs one worker per group instead (docs/deploy.md). The prefix is read
from `task_default_queue` when a task is sent, so the test fixture's per-test prefix moves
every queue with it and parallel runs never share one.

A beat entry names its task, so it is routed here too; an entry (or a caller) that passes
`queue=` explicitly keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kombu import Exchange, Queue


@dataclass(frozen=True)
class Workload:
    name: str
    purpose: str


DEFAULT = Workload("default", "anything not routed elsewhere: seat releases, waitlist expiry, progress, ping")
MAIL = Workload("mail", "the outbox drain: sends every queued email, highest priority (crisis mail) first")
CAMPAIGNS = Workload("campaigns", "bulk fan-out into the outbox: newsletter campaigns, email sequences")
WEBHOOKS = Workload("webhooks", "stored Stripe, Calendly and Zoom events, their sweeps, Stripe checks")
ALERTS = Workload("alerts", "clinical risk alerts: escalation of unacknowledged alerts")
REMINDERS = Workload("reminders", "screening, appointment and workshop reminders and notices")
REPORTS = Workload("reports", "aggregates and report or warehouse loads; reads may go to the replica")
MAINTENANCE = Workload("maintenance", "nightly retention, orphan cleanup, backups")

WORKLOADS = (DEFAULT, MAIL, CAMPAIGNS, WEBHOOKS, ALERTS, REMINDERS, REPORTS, MAINTENANCE)

# Every task Bloom registers, by name. tests/bloom/test_queues.py fails when a task is
# missing here (so a new task is placed on purpose) or when a name here no longer exists.
ROUTES: dict[str, Workload] = {
    "bloom.ping": DEFAULT,
    "bloom.retention_apply_task": MAINTENANCE,
    "bloom.orphans_cleanup_task": MAINTENANCE,
    "bloom.backup_task": MAINTENANCE,
    "bloom.warehouse_load_task": REPORTS,
    "bloom.reports_refresh_task": REPORTS,
    "bloom.content_publish_due_task": DEFAULT,
    "accounts.data_request_reminders_send_task": REMINDERS,
    "accounts.data_request_farewells_scrub_task": MAINTENANCE,
    "bloom.webhooks_sweep_task": WEBHOOKS,
    "accounts.risk_alerts_escalate_task": ALERTS,
    "accounts.screening_reminders_send_task": REMINDERS,
    "appointments.calendly_event_process_task": WEBHOOKS,
    "appointments.appointment_reminders_send_task": REMINDERS,
    "appointments.appointment_money_step_task": WEBHOOKS,
    "appointments.appointment_holds_sweep_task": WEBHOOKS,
    "appointments.calendly_reconcile_task": WEBHOOKS,
    "billing.stripe_events_drain_task": WEBHOOKS,
    "billing.stripe_event_process_task": WEBHOOKS,
    "billing.djstripe_mirror_task": WEBHOOKS,
    "billing.stripe_events_reconcile_task": WEBHOOKS,
    "billing.stripe_check_run_task": WEBHOOKS,
    "billing.stripe_checks_sweep_task": WEBHOOKS,
    "content.campaign_send_task": CAMPAIGNS,
    "content.campaign_send_due_task": CAMPAIGNS,
    "content.subscriber_engagement_recompute_task": REPORTS,
    "notifications.email_queue_drain_task": MAIL,
    "notifications.email_queue_sweep_task": MAIL,
    "notifications.sequence_enrollments_advance_task": CAMPAIGNS,
    "workshops.zoom_event_process_task": WEBHOOKS,
    "workshops.series_progress_update_task": DEFAULT,
    "workshops.workshop_notice_send_task": REMINDERS,
    "workshops.registration_notices_sweep_task": REMINDERS,
    "workshops.waitlist_offers_expire_task": DEFAULT,
    "workshops.registrations_unpaid_release_task": DEFAULT,
}


def queue_name(workload: Workload, *, prefix: str) -> str:
    """The queue of `workload` under `prefix`: the prefix itself for the default workload."""
    return prefix if workload is DEFAULT else f"{prefix}.{workload.name}"


def queue_names(*, prefix: str, workloads: tuple[Workload, ...] = WORKLOADS) -> list[str]:
    """Every queue of `prefix`, default first (what `celery worker -Q` takes, comma-joined)."""
    return [queue_name(workload, prefix=prefix) for workload in workloads]


def task_queues(*, prefix: str) -> tuple[Queue, ...]:
    """Celery's `task_queues` for `prefix`: one direct exchange and queue per workload, both
    named like the queue, as Celery names a queue it creates for a route."""
    return tuple(Queue(name, Exchange(name), routing_key=name) for name in queue_names(prefix=prefix))


def workload_for(task_name: str) -> Workload:
    return ROUTES.get(task_name, DEFAULT)


def route_task(name, args, kwargs, options, task=None, **_kw) -> dict | None:
    """Celery router (`task_routes`): the queue of `name` under the current prefix.

    The prefix is the app's `task_default_queue` at send time, not at import, so changing it
    (tests/conftest.py's worker fixture does) moves every workload's queue with it.
    """
    workload = workload_for(name)
    if workload is DEFAULT:
        return None  # Celery sends it to task_default_queue, which is the prefix
    if task is not None:
        app = task.app
    else:
        from celery import current_app as app
    return {"queue": queue_name(workload, prefix=app.conf.task_default_queue)}
