import time
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from content import selectors, services
from content.models import SegmentKind, Subscriber, SubscriberStatus
from notifications.models import EmailCampaignMetric, EmailQueue, EmailSequenceEnrollment
from tests.factories.content import SubscriberFactory, SubscriberSegmentFactory, SubscriberSegmentMemberFactory

pytestmark = pytest.mark.django_db


def _sign_up(client, email="New.Parent@Example.org", **extra):
    data = {"email": email, "first_name": "Jo", "source": "footer", **extra}
    return client.post(reverse("content:newsletter_signup"), data)


def _confirm_url(email: str) -> str:
    row = EmailQueue.objects.get(to_email=email, template_key="content/subscriber_confirm")
    return row.context["confirm_url"].replace("http://127.0.0.1:8000", "")


@pytest.fixture
def welcome_sequence(db):
    from notifications.models import EmailSequence, SequenceEmail

    sequence = EmailSequence.objects.create(name="Newsletter welcome", trigger="subscriber_confirmed")
    SequenceEmail.objects.create(sequence=sequence, position=1, delay=timedelta(0), subject="Welcome", text_body="Hi")
    return sequence


def test_sign_up_creates_a_pending_subscriber_and_queues_the_confirmation(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    response = _sign_up(client)
    assert response.status_code == 302 and response["Location"] == reverse("content:newsletter_thanks")
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "new.parent@example.org"
    assert subscriber.status == SubscriberStatus.PENDING and subscriber.source == "footer"
    email = EmailQueue.objects.get(to_email="new.parent@example.org")
    assert email.category == "transactional" and email.priority == 10
    assert "/newsletter/confirm/" in email.context["confirm_url"]


def test_signing_up_again_soon_does_not_send_a_second_email(client):
    _sign_up(client)
    _sign_up(client, email="new.parent@example.org")
    assert Subscriber.objects.count() == 1
    assert EmailQueue.objects.count() == 1


def test_a_confirmed_subscriber_signing_up_again_gets_no_email_and_stays_confirmed(client):
    subscriber = SubscriberFactory(email="kept@example.org")
    _sign_up(client, email="KEPT@example.org")
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.CONFIRMED
    assert not EmailQueue.objects.exists()


def test_honeypot_sign_up_is_dropped(client):
    response = _sign_up(client, website="http://spam.example")
    assert response.status_code == 302
    assert not Subscriber.objects.exists() and not EmailQueue.objects.exists()


def test_get_on_the_confirm_link_does_not_confirm_but_post_does(client, settings, welcome_sequence):
    settings.SITE_URL = "http://127.0.0.1:8000"
    _sign_up(client)
    url = _confirm_url("new.parent@example.org")
    page = client.get(url)
    assert page.status_code == 200 and b"Yes, subscribe me" in page.content
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING
    assert not EmailSequenceEnrollment.objects.exists()

    response = client.post(url)
    assert response.status_code == 200 and b"You are subscribed" in response.content
    subscriber = Subscriber.objects.get()
    assert subscriber.status == SubscriberStatus.CONFIRMED and subscriber.confirmed_at is not None
    assert (
        EmailSequenceEnrollment.objects.filter(email="new.parent@example.org", sequence=welcome_sequence).count() == 1
    )

    confirmed_at = subscriber.confirmed_at
    assert client.post(url).status_code == 200  # a second click changes nothing
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at == confirmed_at
    assert EmailSequenceEnrollment.objects.count() == 1


def test_expired_and_tampered_links_are_refused(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    _sign_up(client)
    url = _confirm_url("new.parent@example.org")
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 8 * 24 * 3600):
        expired = client.post(url)
    assert expired.status_code == 400 and b"expired" in expired.content
    tampered = client.post(url.rstrip("/") + "x/")
    assert tampered.status_code == 400 and b"not valid" in tampered.content
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_an_old_confirm_link_cannot_undo_an_unsubscribe(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    _sign_up(client)
    url = _confirm_url("new.parent@example.org")
    client.post(url)
    services.subscriber_unsubscribe(email="new.parent@example.org", reason="unsubscribe link")
    response = client.post(url)
    assert response.status_code == 400
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED


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


def test_marketing_consent_lookup():
    SubscriberFactory(email="yes@example.org")
    SubscriberFactory(email="no@example.org", status=SubscriberStatus.UNSUBSCRIBED)
    SubscriberFactory(email="bounced@example.org", status=SubscriberStatus.BOUNCED)
    SubscriberFactory(email="waiting@example.org", status=SubscriberStatus.PENDING)
    assert selectors.subscriber_marketing_consent(email="YES@example.org") is True
    assert selectors.subscriber_marketing_consent(email="no@example.org") is False
    assert selectors.subscriber_marketing_consent(email="bounced@example.org") is False
    assert selectors.subscriber_marketing_consent(email="waiting@example.org") is None
    assert selectors.subscriber_marketing_consent(email="stranger@example.org") is None


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


def test_segment_recipients_manual_and_rule():
    manual = SubscriberSegmentFactory()
    member = SubscriberSegmentMemberFactory(segment=manual).subscriber
    SubscriberSegmentMemberFactory(segment=manual, subscriber=SubscriberFactory(status=SubscriberStatus.UNSUBSCRIBED))
    outsider = SubscriberFactory()
    assert list(selectors.segment_recipients(segment=manual)) == [member]
    rule = SubscriberSegmentFactory(kind=SegmentKind.RULE, rule={"sources": ["blog"], "min_engagement_score": 50})
    match = SubscriberFactory(source="blog", engagement_score=70)
    SubscriberFactory(source="blog", engagement_score=10)
    SubscriberFactory(source="footer", engagement_score=90)
    assert list(selectors.segment_recipients(segment=rule)) == [match]
    assert set(selectors.segment_recipients(segment=None)) >= {member, outsider, match}


def test_rule_segments_refuse_manual_members():
    from bloom.exceptions import ApplicationError

    rule = SubscriberSegmentFactory(kind=SegmentKind.RULE, rule={})
    with pytest.raises(ApplicationError):
        services.segment_members_add(segment=rule, subscribers=[SubscriberFactory()])


def test_segment_rule_validation():
    from django.core.exceptions import ValidationError

    assert services.segment_rule_validate({"min_engagement_score": 40}) == {"min_engagement_score": 40}
    for bad in ({"colour": "red"}, {"min_engagement_score": 200}, {"sources": "footer"}, []):
        with pytest.raises(ValidationError):
            services.segment_rule_validate(bad)


def test_resubscribing_after_an_unsubscribe_lifts_the_marketing_suppression(client, settings):
    from content.models import CampaignStatus
    from notifications import services as notification_services
    from notifications.models import EmailSuppression
    from tests.factories.content import NewsletterCampaignFactory

    settings.SITE_URL = "http://127.0.0.1:8000"
    SubscriberFactory(email="back@example.org")
    notification_services.marketing_unsubscribe(email="back@example.org")
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED
    _sign_up(client, email="back@example.org")
    client.post(_confirm_url("back@example.org"))
    assert Subscriber.objects.get().status == SubscriberStatus.CONFIRMED
    assert not EmailSuppression.objects.filter(email="back@example.org").exists()
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING)
    assert services.campaign_send(campaign=campaign) == 1


def test_resubscribing_after_a_complaint_keeps_the_suppression(client, settings):
    from notifications import services as notification_services
    from notifications.models import EmailSuppression

    settings.SITE_URL = "http://127.0.0.1:8000"
    SubscriberFactory(email="spam@example.org")
    notification_services.delivery_event_record(event_type="complained", recipient="spam@example.org")
    assert Subscriber.objects.get().status == SubscriberStatus.COMPLAINED
    _sign_up(client, email="spam@example.org")
    assert EmailQueue.objects.filter(to_email="spam@example.org").count() == 0  # all mail suppressed
    assert EmailSuppression.objects.filter(email="spam@example.org", reason="complaint").exists()


def test_sign_ups_are_rate_limited_per_ip_and_keep_what_was_typed(client, rate_window_held):
    from content.views import SIGNUP_LIMIT

    limit = int(SIGNUP_LIMIT.split("/")[0])
    for n in range(limit):
        assert _sign_up(client, email=f"parent{n}@example.org").status_code == 302
    response = _sign_up(client, email="one.too.many@example.org")
    assert response.status_code == 429
    assert b"Too many sign-ups" in response.content
    assert b"one.too.many@example.org" in response.content
    assert not Subscriber.objects.filter(email="one.too.many@example.org").exists()
    assert Subscriber.objects.count() == limit
    # Another address on the network is counted separately.
    other = client.post(
        reverse("content:newsletter_signup"),
        {"email": "elsewhere@example.org", "first_name": "Sam", "source": "footer"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert other.status_code == 302
