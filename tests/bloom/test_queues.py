"""Queues per workload (bloom/queues.py, docs/adr/0153): the routing table, queue names under the
isolation prefix, and real workers showing a full mail queue never holds up a clinical alert."""

from __future__ import annotations

import datetime
import importlib
import importlib.util

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from bloom import queues
from bloom.celery import app, ping
from tests.conftest import BASE_DIR, WorkerProcess
from tests.waiting import wait_until


def _route(name: str, **options) -> str:
    return app.amqp.router.route(options, name)["queue"].name


def _bloom_task_names() -> set[str]:
    """Every task the project declares: each app's tasks module imported, as a worker does."""
    for config in apps.get_app_configs():
        if config.path.startswith(str(BASE_DIR)) and importlib.util.find_spec(f"{config.name}.tasks"):
            importlib.import_module(f"{config.name}.tasks")
    # Tasks a test module declares for itself (named "tests.…") are the suite's, not the project's.
    return {name for name in app.tasks if not name.startswith(("celery.", "tests."))}


def test_every_registered_task_is_routed_and_every_route_is_a_task():
    registered = _bloom_task_names()
    assert registered - queues.ROUTES.keys() == set(), "place each new task on a workload in bloom/queues.py"
    assert queues.ROUTES.keys() - registered == set(), "bloom/queues.py routes a task that no longer exists"


def test_each_workload_has_its_own_queue_under_the_prefix(settings):
    prefix = app.conf.task_default_queue
    assert prefix == settings.CELERY_TASK_DEFAULT_QUEUE
    assert _route("notifications.email_queue_drain_task") == f"{prefix}.mail"
    assert _route("content.campaign_send_task") == f"{prefix}.campaigns"
    assert _route("accounts.risk_alerts_escalate_task") == f"{prefix}.alerts"
    assert _route("billing.stripe_event_process_task") == f"{prefix}.webhooks"
    assert _route("workshops.zoom_event_process_task") == f"{prefix}.webhooks"
    assert _route("appointments.appointment_reminders_send_task") == f"{prefix}.reminders"
    assert _route("content.subscriber_engagement_recompute_task") == f"{prefix}.reports"
    assert _route("bloom.retention_apply_task") == f"{prefix}.maintenance"
    assert _route("bloom.ping") == prefix
    # A task Bloom does not know (another project's, a typo in a beat row) goes to the default queue.
    assert _route("elsewhere.some_task") == prefix
    assert len(set(queues.queue_names(prefix=prefix))) == len(queues.WORKLOADS)


def test_routes_follow_the_prefix_when_it_changes_at_run_time():
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = "bloom-test-elsewhere"
    try:
        assert _route("notifications.email_queue_drain_task") == "bloom-test-elsewhere.mail"
        assert _route("accounts.risk_alerts_escalate_task") == "bloom-test-elsewhere.alerts"
        assert _route("bloom.ping") == "bloom-test-elsewhere"
    finally:
        app.conf.task_default_queue = previous


def test_a_queue_given_by_the_caller_wins_over_the_table():
    assert _route("notifications.email_queue_drain_task", queue="somewhere") == "somewhere"


def test_every_beat_entry_lands_on_its_workload_queue():
    from bloom.beat import beat_schedule

    prefix = app.conf.task_default_queue
    for entry in beat_schedule().values():
        assert _route(entry["task"]) == queues.queue_name(queues.workload_for(entry["task"]), prefix=prefix)
        assert entry["task"] in queues.ROUTES


def test_the_app_declares_every_workload_queue_so_a_worker_without_q_consumes_them_all():
    prefix = app.conf.task_default_queue
    declared = [queue.name for queue in app.conf.task_queues]
    assert declared == queues.queue_names(prefix=prefix)
    assert app.amqp.queues.consume_from is None or set(app.amqp.queues.consume_from) == set(declared)


@pytest.mark.worker
def test_a_worker_started_without_q_consumes_every_workload_queue(celery_worker_process):
    prefix = celery_worker_process.queue
    assert celery_worker_process.queues is None  # the fixture starts it without -Q
    results = {
        workload.name: ping.apply_async(
            (workload.name,), queue=queues.queue_name(workload, prefix=prefix), ignore_result=False
        )
        for workload in queues.WORKLOADS
    }
    assert {name: result.get(timeout=30) for name, result in results.items()} == {
        workload.name: f"pong:{workload.name}" for workload in queues.WORKLOADS
    }


def _queue_length(name: str) -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen(name)


def _a_worker_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views keep the snapshot of their first read.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.worker
@pytest.mark.slow
def test_a_crisis_alert_and_its_email_go_out_while_a_campaign_holds_its_worker(celery_queue_prefix, settings):
    """One worker per queue, as deploy/Procfile runs them. The campaigns worker is held inside a
    campaign send (this test holds the campaign's row lock) with a thousand more campaign tasks
    queued behind it. A crisis alert is escalated by the alerts worker and its email sent by the
    mail worker all the same, before one of those campaign tasks has run; then the campaign
    backlog drains completely and the campaign's emails go out too."""
    from accounts.models import RiskAlert
    from accounts.tasks import risk_alerts_escalate_task
    from content.models import CampaignStatus, NewsletterCampaign
    from content.tasks import campaign_send_due_task, campaign_send_task
    from notifications.models import EmailPriority, EmailQueue, EmailStatus
    from tests.factories.accounts import RiskAlertFactory, StaffUserFactory
    from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

    prefix, env = celery_queue_prefix
    campaigns_queue = queues.queue_name(queues.CAMPAIGNS, prefix=prefix)
    owner = StaffUserFactory(is_superuser=True)
    SubscriberFactory.create_batch(3)
    campaign = NewsletterCampaignFactory()
    NewsletterCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    alert = RiskAlertFactory()
    RiskAlert.objects.filter(pk=alert.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=settings.BLOOM_RISK_ALERT_ESCALATE_AFTER + 1)
    )
    workers = [
        WorkerProcess(prefix, env, queues=[queues.queue_name(workload, prefix=prefix)], name=workload.name)
        for workload in (queues.CAMPAIGNS, queues.MAIL, queues.ALERTS)
    ]
    backlog = 1000

    def owner_email() -> EmailQueue | None:
        return EmailQueue.objects.filter(to_email=owner.email).first()

    try:
        for worker in workers:
            worker.start()
        with transaction.atomic():
            # Held until this block ends: the campaigns worker's campaign_send waits on it.
            NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
            campaign_send_task.delay(str(campaign.pk))
            wait_until(_a_worker_waits_on_a_lock, timeout=60, what="the campaigns worker to block in the send")
            with app.producer_or_acquire() as producer:
                for _ in range(backlog):
                    campaign_send_due_task.apply_async(producer=producer)
            assert _queue_length(campaigns_queue) == backlog

            risk_alerts_escalate_task.delay()
            wait_until(
                lambda: RiskAlert.objects.filter(pk=alert.pk, escalated_at__isnull=False).exists(),
                timeout=60,
                what=lambda: f"the alerts worker to escalate:\n{workers[2].log_path.read_text()[-2000:]}",
            )
            wait_until(
                lambda: (row := owner_email()) is not None and row.status == EmailStatus.SENT,
                timeout=60,
                what=lambda: f"the mail worker to send the escalation:\n{workers[1].log_path.read_text()[-2000:]}",
            )
            assert owner_email().priority == EmailPriority.HIGH
            # Not one campaign task ran meanwhile: the send still waits and the backlog is whole.
            assert _queue_length(campaigns_queue) == backlog
            assert NewsletterCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENDING
            assert not EmailQueue.objects.filter(campaign_id=campaign.pk).exists()

        wait_until(
            lambda: (
                _queue_length(campaigns_queue) == 0
                and EmailQueue.objects.filter(campaign_id=campaign.pk, status=EmailStatus.SENT).count() == 3
            ),
            timeout=300,
            interval=1,
            what=lambda: f"the campaign backlog to drain ({_queue_length(campaigns_queue)} left)",
        )
        assert NewsletterCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT
        assert EmailQueue.objects.filter(to_email=owner.email).count() == 1
    finally:
        for worker in workers:
            worker.stop()


def _worker_lines(procfile: str) -> dict[str, list[str]]:
    """The Celery worker processes of a Procfile and the queues each names with -Q (under the
    default prefix "bloom"); an empty list is a worker without -Q."""
    workers = {}
    for line in (BASE_DIR / procfile).read_text().splitlines():
        name, _, command = line.partition(":")
        if line.startswith("#") or "celery -A bloom worker" not in command:
            continue
        words = command.replace("${BLOOM_CELERY_QUEUE:-bloom}", "bloom").split()
        workers[name] = words[words.index("-Q") + 1].split(",") if "-Q" in words else []
    return workers


def test_production_runs_every_queue_on_exactly_one_worker_group():
    workers = _worker_lines("deploy/Procfile")
    consumed = [queue for queues_of_one in workers.values() for queue in queues_of_one]
    assert sorted(consumed) == sorted(queues.queue_names(prefix="bloom"))
    assert workers["worker-alerts"] == ["bloom.alerts"]  # nothing shares the alerts worker
    assert workers["worker-mail"] == ["bloom.mail"]


def test_the_development_worker_consumes_every_queue():
    assert _worker_lines("Procfile") == {"worker": []}
