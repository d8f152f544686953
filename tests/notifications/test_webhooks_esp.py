import base64

import pytest
from django.urls import reverse

from notifications.models import EmailSuppression
from tests.notifications.helpers import campaign_metric

pytestmark = pytest.mark.django_db


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
    metric = campaign_metric()
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
    assert campaign_metric().bounce_type == "complaint"
