"""Data retention (seed section 7.2): `manage.py apply_retention` deletes or redacts only what is due."""

import pytest

from appointments.models import CalendlyWebhookEvent
from billing.models import StripeWebhookEvent
from bloom import retention
from bloom.celery import app as celery_app
from content.models import AnalyticsEvent
from notifications.models import EmailCampaignMetric, EmailQueue, EmailStatus
from tests.bloom.retention_support import aged, run_retention
from tests.factories.appointments import CalendlyWebhookEventFactory
from tests.factories.billing import StripeWebhookEventFactory
from tests.factories.content import AnalyticsEventFactory
from tests.factories.notifications import EmailCampaignMetricFactory, EmailQueueFactory
from tests.factories.workshops import ZoomWebhookEventFactory
from workshops.models import ZoomWebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    """Rows on both sides of every default limit (90 / 365 / 730 days)."""
    return {
        "old_processed": [
            aged(StripeWebhookEventFactory(processed=True), 91),
            aged(CalendlyWebhookEventFactory(processed=True), 91),
            aged(ZoomWebhookEventFactory(processed=True), 91),
        ],
        "old_pending": aged(StripeWebhookEventFactory(processed=False), 200),
        "old_failed": aged(ZoomWebhookEventFactory(processed=False, error_message="boom", attempts=5), 200),
        "recent_processed": aged(CalendlyWebhookEventFactory(processed=True), 89),
        "old_sent": aged(
            EmailQueueFactory(status=EmailStatus.SENT, text_body="Your session notes", context={"name": "Ana"}), 366
        ),
        "old_metric": EmailCampaignMetricFactory(),
        "old_pending_mail": aged(EmailQueueFactory(status=EmailStatus.PENDING, text_body="still to go"), 400),
        "recent_sent": aged(EmailQueueFactory(status=EmailStatus.SENT, text_body="recent"), 300),
        "old_event": aged(AnalyticsEventFactory(), 731),
        "recent_event": aged(AnalyticsEventFactory(), 700),
    }


def test_dry_run_counts_what_is_due_and_changes_nothing(rows):
    rows["old_metric"].email.status = EmailStatus.SENT
    rows["old_metric"].email.save()
    aged(rows["old_metric"].email, 400)

    out = run_retention("--dry-run")

    assert "billing: stripe_webhook_events processed before the limit (over 90 days): 1 due" in out
    assert "notifications: email_queue bodies of finished mail (over 365 days): 2 due" in out
    assert "content: analytics_events older than the limit (over 730 days): 1 due" in out
    assert "6 rows due; run without --dry-run to apply." in out
    assert StripeWebhookEvent.objects.count() == 2
    assert EmailQueue.objects.get(pk=rows["old_sent"].pk).text_body == "Your session notes"
    assert AnalyticsEvent.objects.count() == 2


def test_apply_deletes_and_redacts_only_what_is_past_its_limit(rows):
    metric_email = rows["old_metric"].email
    EmailQueue.objects.filter(pk=metric_email.pk).update(status=EmailStatus.SENT)
    aged(metric_email, 400)

    out = run_retention()

    # Processed deliveries past 90 days are gone; pending, failed and recent ones stay.
    for event in rows["old_processed"]:
        assert not type(event).objects.filter(pk=event.pk).exists()
    assert StripeWebhookEvent.objects.filter(pk=rows["old_pending"].pk).exists()
    assert ZoomWebhookEvent.objects.filter(pk=rows["old_failed"].pk).exists()
    assert CalendlyWebhookEvent.objects.filter(pk=rows["recent_processed"].pk).exists()
    # Finished mail past 365 days keeps its row (metrics point at it) but loses body and context.
    sent = EmailQueue.objects.get(pk=rows["old_sent"].pk)
    assert (sent.text_body, sent.html_body, sent.context) == ("", "", {})
    assert sent.subject and sent.to_email and sent.status == EmailStatus.SENT
    assert EmailCampaignMetric.objects.filter(pk=rows["old_metric"].pk, email=metric_email).exists()
    assert EmailQueue.objects.get(pk=rows["old_pending_mail"].pk).text_body == "still to go"
    assert EmailQueue.objects.get(pk=rows["recent_sent"].pk).text_body == "recent"
    # Analytics past 730 days go.
    assert list(AnalyticsEvent.objects.values_list("pk", flat=True)) == [rows["recent_event"].pk]
    assert "billing: stripe_webhook_events processed before the limit [####################] 1/1" in out
    assert "6 rows changed." in out
    # A second run has nothing left to do.
    assert "0 rows changed." in run_retention()


def test_limits_come_from_settings(settings):
    settings.BLOOM_RETENTION_DAYS = {**settings.BLOOM_RETENTION_DAYS, "analytics_events": 30}
    aged(AnalyticsEventFactory(), 31)
    keep = aged(AnalyticsEventFactory(), 29)
    run_retention()
    assert list(AnalyticsEvent.objects.values_list("pk", flat=True)) == [keep.pk]


def test_a_limit_under_one_day_is_refused_before_anything_changes(settings):
    settings.BLOOM_RETENTION_DAYS = {**settings.BLOOM_RETENTION_DAYS, "analytics_events": 0}
    aged(AnalyticsEventFactory(), 5)
    with pytest.raises(ValueError, match="at least 1 day"):
        run_retention()
    assert AnalyticsEvent.objects.count() == 1


def test_large_backlogs_go_in_batches(monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    for _ in range(5):
        aged(AnalyticsEventFactory(), 800)
    out = run_retention()
    progress = [line.strip() for line in out.splitlines() if "content: analytics_events" in line and "] " in line]
    assert progress == [
        "content: analytics_events older than the limit [########............] 2/5",
        "content: analytics_events older than the limit [################....] 4/5",
        "content: analytics_events older than the limit [####################] 5/5",
    ]
    assert not AnalyticsEvent.objects.exists()


def test_every_owning_app_declares_its_policy_and_beat_runs_them_nightly(settings):
    names = {(label, policy.setting) for label, policy in retention.retention_policies()}
    assert names == {
        ("billing", "webhook_events"),
        ("appointments", "webhook_events"),
        ("workshops", "webhook_events"),
        ("notifications", "email_bodies"),
        ("content", "analytics_events"),
        ("content", "contact_messages"),
        ("content", "chats"),
        ("content", "career_applications"),
        ("content", "career_applications_on_file"),
        ("accounts", "wellness"),
        ("accounts", "clinical_records"),
        ("accounts", "consent_records"),
        ("accounts", "security_events"),
        ("accounts", "admin_activity"),
        ("appointments", "clinical_records"),
        ("appointments", "payments"),
        ("billing", "payments"),
    }
    # Every limit in settings is used by a policy, and every policy's limit is in settings.
    assert {setting for _label, setting in names} == set(settings.BLOOM_RETENTION_DAYS)
    celery_app.loader.import_default_modules()
    celery_app.finalize()
    entry = celery_app.conf.beat_schedule["bloom-retention-apply"]
    assert entry["task"] == "bloom.retention_apply_task"
    assert "bloom.retention_apply_task" in celery_app.tasks


def test_the_nightly_task_applies_the_policies_in_a_real_worker(celery_worker_process):
    from bloom.tasks import retention_apply_task

    old = aged(AnalyticsEventFactory(), 731)
    summary = retention_apply_task.delay().get(timeout=60)
    assert summary["content: analytics_events older than the limit"] == 1
    assert not AnalyticsEvent.objects.filter(pk=old.pk).exists()
