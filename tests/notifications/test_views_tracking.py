import base64

import pytest
from django.urls import reverse

from notifications import tokens
from notifications.models import EmailSuppression
from tests.notifications.helpers import campaign_metric

pytestmark = pytest.mark.django_db


def test_open_pixel_stamps_opened_at(client, campaign_email):
    response = client.get(reverse("notifications:track_open", args=[tokens.open_token(campaign_email.pk)]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert campaign_metric().opened_at is not None


def test_click_redirects_only_to_a_link_in_that_email(client, campaign_email):
    response = client.get(reverse("notifications:track_click", args=[tokens.click_token(campaign_email.pk, 0)]))
    assert response.status_code == 302 and response["Location"] == "https://bloom.example/blog/spring"
    metric = campaign_metric()
    assert metric.clicked_at is not None and metric.click_data[0]["url"] == "https://bloom.example/blog/spring"

    # A validly signed token for a link index the email does not have leads nowhere.
    response = client.get(reverse("notifications:track_click", args=[tokens.click_token(campaign_email.pk, 1)]))
    assert response.status_code == 400
    assert len(campaign_metric().click_data) == 1


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

    metric = campaign_metric()
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
    assert campaign_metric().unsubscribed_at is not None
    assert unsubscribed_calls == [("reader@example.com", "unsubscribe")]


def test_unsubscribe_url_in_headers_is_the_working_one(client, campaign_email):
    https_part = campaign_email.headers["List-Unsubscribe"].split(", ")[0].strip("<>")
    path = https_part.split("127.0.0.1:8000", 1)[1]
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert EmailSuppression.objects.filter(email="reader@example.com").exists()
