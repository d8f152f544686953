import pytest

from bloom.exceptions import ApplicationError
from content import services
from content.models import CampaignStatus, NewsletterCampaign, SubscriberStatus
from notifications.models import EmailQueue, EmailSuppression
from tests.factories.content import (
    NewsletterCampaignFactory,
    SubscriberFactory,
    SubscriberSegmentFactory,
    SubscriberSegmentMemberFactory,
)

pytestmark = pytest.mark.django_db


def _sending(**fields) -> NewsletterCampaign:
    return NewsletterCampaignFactory(status=CampaignStatus.SENDING, **fields)


def test_sends_once_to_each_confirmed_subscriber_in_batches(django_assert_max_num_queries):
    confirmed = SubscriberFactory.create_batch(5)
    SubscriberFactory(status=SubscriberStatus.UNSUBSCRIBED)
    SubscriberFactory(status=SubscriberStatus.PENDING)
    campaign = _sending()
    assert services.campaign_send(campaign=campaign, batch_size=2) == 5
    rows = EmailQueue.objects.filter(campaign_id=campaign.pk)
    assert sorted(rows.values_list("to_email", flat=True)) == sorted(s.email for s in confirmed)
    assert set(rows.values_list("category", "priority")) == {("marketing", 90)}
    assert {r.idempotency_key for r in rows} == {f"campaign:{campaign.pk}:{s.pk}" for s in confirmed}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.sent_at is not None
    assert campaign.recipients_count == 5


def test_running_twice_queues_once_per_subscriber():
    SubscriberFactory.create_batch(4)
    campaign = _sending()
    services.campaign_send(campaign=campaign, batch_size=3)
    # A retried task after a lost worker: the campaign is still marked sending.
    NewsletterCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    assert services.campaign_send(campaign=campaign, batch_size=3) == 0
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == 4
    campaign.refresh_from_db()
    assert campaign.recipients_count == 4


def test_a_resumed_send_queues_only_what_is_missing():
    subscribers = SubscriberFactory.create_batch(3)
    campaign = _sending()
    from notifications.services import email_enqueue

    email_enqueue(
        to=subscribers[0].email,
        subject="x",
        text_body="x",
        category="marketing",
        idempotency_key=f"campaign:{campaign.pk}:{subscribers[0].pk}",
        campaign_id=campaign.pk,
    )
    assert services.campaign_send(campaign=campaign) == 2
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == 3


def test_segment_limits_the_recipients():
    segment = SubscriberSegmentFactory()
    members = [SubscriberSegmentMemberFactory(segment=segment).subscriber for _ in range(2)]
    SubscriberFactory.create_batch(3)
    campaign = _sending(segment=segment)
    services.campaign_send(campaign=campaign)
    assert set(EmailQueue.objects.values_list("to_email", flat=True)) == {m.email for m in members}


def test_suppressed_addresses_are_skipped_and_not_counted():
    SubscriberFactory(email="ok@example.org")
    SubscriberFactory(email="complained@example.org")
    EmailSuppression.objects.create(email="complained@example.org", reason="complaint")
    campaign = _sending()
    services.campaign_send(campaign=campaign)
    assert list(EmailQueue.objects.values_list("to_email", flat=True)) == ["ok@example.org"]
    campaign.refresh_from_db()
    assert campaign.recipients_count == 1


def test_draft_or_cancelled_campaigns_send_nothing():
    SubscriberFactory()
    draft = NewsletterCampaignFactory()
    assert services.campaign_send(campaign=draft) == 0
    cancelled = _sending()
    services.campaign_cancel(campaign=cancelled)
    assert services.campaign_send(campaign=cancelled) == 0
    assert not EmailQueue.objects.exists()


def test_send_start_marks_sending_and_enqueues_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("content.tasks.campaign_send_task.delay", lambda campaign_id: sent.append(campaign_id))
    SubscriberFactory()  # a campaign that reaches nobody is refused
    campaign = NewsletterCampaignFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.campaign_send_start(campaign=campaign)
    assert sent == []  # nothing leaves before the commit
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.send_started_at is not None
    for callback in callbacks:
        callback()
    assert sent == [str(campaign.pk)]
    NewsletterCampaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENT, sent_at=campaign.send_started_at
    )
    with pytest.raises(ApplicationError):
        services.campaign_send_start(campaign=campaign)


def test_campaign_save_sanitises_and_schedules(superuser):
    from django.utils import timezone

    SubscriberFactory()  # scheduling a campaign that reaches nobody is refused
    campaign = NewsletterCampaign(subject="Hello", body_html="<p>Hi</p><script>x()</script>")
    services.campaign_save(campaign=campaign, user=superuser)
    assert campaign.body_html == "<p>Hi</p>" and campaign.status == CampaignStatus.DRAFT
    assert campaign.created_by == superuser
    campaign.scheduled_at = timezone.now()
    services.campaign_save(campaign=campaign, user=superuser)
    assert campaign.status == CampaignStatus.SCHEDULED
    assert services.campaign_send_due() == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
