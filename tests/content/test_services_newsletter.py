from datetime import timedelta

import pytest
from django.utils import timezone

from content import services
from content.models import Subscriber, SubscriberStatus
from notifications.models import EmailCampaignMetric
from tests.factories.content import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_unsubscribe_handler_flips_status_and_keeps_the_first_date():
    subscriber = SubscriberFactory(email="leaving@example.org")
    assert services.subscriber_unsubscribe(email="Leaving@Example.org", reason="one-click") == 1
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    first = subscriber.unsubscribed_at
    assert services.subscriber_unsubscribe(email="leaving@example.org", reason="one-click") == 0
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at == first


def test_complaint_is_recorded_and_not_downgraded_by_a_later_unsubscribe():
    subscriber = SubscriberFactory(email="angry@example.org")
    services.subscriber_unsubscribe(email="angry@example.org", reason="complaint")
    services.subscriber_unsubscribe(email="angry@example.org", reason="unsubscribe")
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.COMPLAINED


def test_unknown_address_is_ignored_by_the_handler():
    SubscriberFactory(email="stays@example.org")
    assert services.subscriber_unsubscribe(email="nobody@example.org", reason="x") == 0
    assert Subscriber.objects.get().status == SubscriberStatus.CONFIRMED


def test_handlers_are_registered_with_notifications():
    from notifications import services as notification_services

    SubscriberFactory(email="reg@example.org")
    notification_services.marketing_unsubscribe(email="reg@example.org", reason="unsubscribe")
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED


def test_engagement_score_comes_from_campaign_metrics():
    keen = SubscriberFactory(email="keen@example.org")
    quiet = SubscriberFactory(email="quiet@example.org")
    SubscriberFactory(email="new@example.org")
    now = timezone.now()
    for index in range(3):
        EmailCampaignMetric.objects.create(
            recipient_email="Keen@example.org",
            sent_at=now - timedelta(days=index),
            opened_at=now,
            clicked_at=now if index < 2 else None,
        )
    EmailCampaignMetric.objects.create(recipient_email="quiet@example.org", sent_at=now)
    EmailCampaignMetric.objects.create(
        recipient_email="quiet@example.org", sent_at=now - timedelta(days=200), opened_at=now
    )
    assert services.subscriber_engagement_recompute(now=now) == 1
    keen.refresh_from_db()
    quiet.refresh_from_db()
    assert keen.engagement_score == round(100 * (3 + 2 * 2) / 9)
    assert quiet.engagement_score == 0
    assert keen.engagement_computed_at == now
