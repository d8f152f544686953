import base64
import uuid

import pytest
from django.urls import reverse

from notifications import tokens
from notifications.models import EmailCampaignMetric, EmailSuppression
from notifications.registry import _unsubscribe_handlers, register_unsubscribe_handler
from notifications.services import marketing_unsubscribe, queue_email
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign_email(marketing_consent_for_all):
    return queue_email(
        to="reader@example.com",
        subject="News",
        text_body="x",
        html_body='<p><a href="https://bloom.example/blog/spring">Spring</a></p>',
        category="marketing",
        campaign_id=uuid.uuid4(),
    )


@pytest.fixture
def unsubscribed_calls():
    calls = []

    def handler(*, email, reason):
        calls.append((email, reason))

    register_unsubscribe_handler(handler)
    yield calls
    _unsubscribe_handlers.remove(handler)


def _metric():
    return EmailCampaignMetric.objects.get()


def test_open_pixel_stamps_opened_at(client, campaign_email):
    response = client.get(reverse("notifications:track_open", args=[tokens.open_token(campaign_email.pk)]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert _metric().opened_at is not None


def test_click_redirects_only_to_a_link_in_that_email(client, campaign_email):
    response = client.get(reverse("notifications:track_click", args=[tokens.click_token(campaign_email.pk, 0)]))
    assert response.status_code == 302 and response["Location"] == "https://bloom.example/blog/spring"
    metric = _metric()
    assert metric.clicked_at is not None and metric.click_data[0]["url"] == "https://bloom.example/blog/spring"

    # A validly signed token for a link index the email does not have leads nowhere.
    response = client.get(reverse("notifications:track_click", args=[tokens.click_token(campaign_email.pk, 1)]))
    assert response.status_code == 400
    assert len(_metric().click_data) == 1


def test_forged_tokens_are_rejected_and_change_nothing(client, campaign_email, caplog):
    email_id = str(campaign_email.pk)
    payload = base64.urlsafe_b64encode(f'"{email_id}"'.encode()).decode().rstrip("=")
    forged_open = f"{payload}:forged"
    forged_click = tokens.click_token(campaign_email.pk, 0)[:-3] + "abc"
    # An open token is not a valid click token either (separate salts).
    cross = tokens.open_token(campaign_email.pk)
    forged_unsubscribe = tokens.unsubscribe_token(email="reader@example.com")[:-2] + "zz"

    assert client.get(reverse("notifications:track_open", args=[forged_open])).status_code == 400
    assert client.get(reverse("notifications:track_click", args=[forged_click])).status_code == 400
    assert client.get(reverse("notifications:track_click", args=[cross])).status_code == 400
    assert client.post(reverse("notifications:unsubscribe", args=[forged_unsubscribe])).status_code == 400
    assert client.get(reverse("notifications:unsubscribe", args=[forged_unsubscribe])).status_code == 400

    metric = _metric()
    assert (metric.opened_at, metric.clicked_at, metric.unsubscribed_at, metric.click_data) == (None, None, None, [])
    assert not EmailSuppression.objects.exists()
    assert any("rejected" in record.message for record in caplog.records if record.name == "notifications.security")


def test_one_click_unsubscribe_post_works_without_login(client, campaign_email, unsubscribed_calls):
    token = tokens.unsubscribe_token(email="reader@example.com", email_id=campaign_email.pk)
    url = reverse("notifications:unsubscribe", args=[token])
    assert client.get(url).status_code == 200  # a confirm page; GET changes nothing
    assert not EmailSuppression.objects.exists()

    response = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    suppression = EmailSuppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.scope) == (
        "reader@example.com",
        "unsubscribe",
        "marketing",
    )
    assert _metric().unsubscribed_at is not None
    assert unsubscribed_calls == [("reader@example.com", "unsubscribe")]


def test_unsubscribe_url_in_headers_is_the_working_one(client, campaign_email):
    https_part = campaign_email.headers["List-Unsubscribe"].split(", ")[0].strip("<>")
    path = https_part.split("127.0.0.1:8000", 1)[1]
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert EmailSuppression.objects.filter(email="reader@example.com").exists()


def test_unsubscribe_withdraws_member_consent_but_not_clinical_mail():
    member = UserFactory()
    member.profile.marketing_consent = True
    member.profile.save()

    marketing_unsubscribe(email=member.email)

    member.profile.refresh_from_db()
    assert member.profile.marketing_consent is False
    assert queue_email(to=member.email, subject="News", text_body="x", category="marketing") is None
    assert queue_email(to=member.email, subject="Your appointment", text_body="x", category="clinical") is not None


def test_provider_bounce_webhook_suppresses_and_records(client, campaign_email, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    payload = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "ID": 42,
        "MessageID": campaign_email.message_id,
        "Email": "reader@example.com",
        "BouncedAt": "2026-11-24T10:00:00Z",
        "Description": "The server was unable to deliver your message",
        "Details": "smtp;550 5.1.1 unknown user",
    }
    url = reverse("notifications:anymail:postmark_tracking_webhook")
    auth = "Basic " + base64.b64encode(b"hook:secret").decode()

    unauthorised = client.post(url, payload, content_type="application/json")
    assert unauthorised.status_code in (400, 401, 403)
    assert not EmailSuppression.objects.exists()

    response = client.post(url, payload, content_type="application/json", HTTP_AUTHORIZATION=auth)

    assert response.status_code == 200
    suppression = EmailSuppression.objects.get()
    assert (suppression.reason, suppression.scope) == ("hard_bounce", "all")
    metric = _metric()
    assert metric.bounced_at is not None and metric.bounce_type == "hard"


def test_provider_complaint_suppresses_at_once(client, campaign_email, settings, unsubscribed_calls):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    payload = {
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "ID": 43,
        "MessageID": campaign_email.message_id,
        "Email": "reader@example.com",
        "BouncedAt": "2026-11-24T10:00:00Z",
        "Description": "Marked as spam",
    }
    auth = "Basic " + base64.b64encode(b"hook:secret").decode()
    response = client.post(
        reverse("notifications:anymail:postmark_tracking_webhook"),
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200
    suppression = EmailSuppression.objects.get()
    assert suppression.reason == "complaint" and suppression.scope == "marketing"
    assert unsubscribed_calls == [("reader@example.com", "complaint")]
    assert _metric().bounce_type == "complaint"
