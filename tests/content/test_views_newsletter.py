import time
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse

from content import services
from content.models import Subscriber, SubscriberStatus
from notifications.models import EmailQueue, EmailSequenceEnrollment
from tests.factories.content import SubscriberFactory

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
