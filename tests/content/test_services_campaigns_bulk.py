"""campaign_send in bulk (issue 18 point 4): per-recipient unsubscribe and click links work,
re-runs count each subscriber once, cancelling between batches stops, and the queries per batch
do not grow with the batch size."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content import services
from content.models import CampaignStatus, NewsletterCampaign, Subscriber, SubscriberStatus
from notifications import services as notification_services
from notifications.models import EmailCampaignMetric, EmailQueue
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

BODY = '<p>Hello {{ first_name|default:"friend" }}, <a href="https://bloom.example/blog/spring/">read on</a>.</p>'


def _sending(**fields) -> NewsletterCampaign:
    return NewsletterCampaignFactory(status=CampaignStatus.SENDING, body_html=BODY, **fields)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_each_recipients_unsubscribe_link_unsubscribes_her_and_only_her(client):
    subscribers = SubscriberFactory.create_batch(3)
    campaign = _sending()
    assert services.campaign_send(campaign=campaign, batch_size=2) == 3
    target = subscribers[1]
    row = EmailQueue.objects.get(campaign_id=campaign.pk, to_email=target.email)
    link = re.search(r'href="([^"]+/notifications/unsubscribe/[^"]+)"', row.html_body).group(1)
    assert row.headers["List-Unsubscribe"].startswith(f"<{link}>")
    assert f"Unsubscribe: {link}" in row.text_body
    assert client.get(_path(link)).status_code == 200
    assert client.post(_path(link)).status_code == 200
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses[target.email] == SubscriberStatus.UNSUBSCRIBED
    assert [statuses[s.email] for s in (subscribers[0], subscribers[2])] == [SubscriberStatus.CONFIRMED] * 2


def test_each_recipients_click_link_records_her_click_and_redirects(client):
    subscribers = SubscriberFactory.create_batch(2)
    campaign = _sending()
    services.campaign_send(campaign=campaign)
    for subscriber in subscribers:
        row = EmailQueue.objects.get(campaign_id=campaign.pk, to_email=subscriber.email)
        assert row.tracked_links == ["https://bloom.example/blog/spring/"]
        assert f"Hello {subscriber.first_name}," in row.html_body
        click = re.search(r'href="([^"]+/notifications/t/c/[^"]+)"', row.html_body).group(1)
        response = client.get(_path(click))
        assert response.status_code == 302 and response["Location"] == "https://bloom.example/blog/spring/"
        pixel = re.search(r'src="([^"]+/notifications/t/o/[^"]+)"', row.html_body).group(1)
        assert client.get(_path(pixel)).status_code == 200
    clicked = EmailCampaignMetric.objects.filter(campaign_id=campaign.pk, clicked_at__isnull=False)
    assert sorted(clicked.values_list("recipient_email", flat=True)) == sorted(s.email for s in subscribers)


def test_a_re_run_after_a_partial_send_counts_each_subscriber_once(monkeypatch):
    SubscriberFactory.create_batch(5)
    campaign = _sending()
    real = notification_services.email_enqueue_bulk
    calls = []

    def first_batch_only(**kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(notification_services, "email_enqueue_bulk", first_batch_only)
    with pytest.raises(RuntimeError):
        services.campaign_send(campaign=campaign, batch_size=2)
    monkeypatch.setattr(notification_services, "email_enqueue_bulk", real)
    campaign.refresh_from_db()
    assert campaign.recipients_count == 2 and campaign.status == CampaignStatus.SENDING
    assert services.campaign_send(campaign=campaign, batch_size=2) == 3
    NewsletterCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    assert services.campaign_send(campaign=campaign, batch_size=2) == 0
    campaign.refresh_from_db()
    assert campaign.recipients_count == 5 == EmailQueue.objects.filter(campaign_id=campaign.pk).count()
    assert EmailCampaignMetric.objects.filter(campaign_id=campaign.pk).count() == 5


def test_cancelling_mid_send_stops_before_the_next_batch(monkeypatch):
    SubscriberFactory.create_batch(6)
    campaign = _sending()
    real = notification_services.email_enqueue_bulk

    def then_cancel(**kwargs):
        queued = real(**kwargs)
        NewsletterCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CANCELLED)
        return queued

    monkeypatch.setattr(notification_services, "email_enqueue_bulk", then_cancel)
    assert services.campaign_send(campaign=campaign, batch_size=2) == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and campaign.recipients_count == 2
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == 2


def _queries_per_batch(batch_size: int) -> int:
    SubscriberFactory.create_batch(batch_size)
    campaign = _sending()
    with CaptureQueriesContext(connection) as queries:
        assert services.campaign_send(campaign=campaign, batch_size=batch_size) == batch_size
    return len(queries)


def test_the_queries_per_batch_do_not_grow_with_the_batch_size():
    small = _queries_per_batch(4)
    Subscriber.objects.update(status=SubscriberStatus.UNSUBSCRIBED)
    large = _queries_per_batch(40)
    assert small == large
    assert large <= 25
