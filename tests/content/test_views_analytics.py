import json

import pytest
from django.urls import reverse

from content.models import AnalyticsEvent
from content.views import EVENT_LIMIT
from tests.factories.accounts import UserFactory
from tests.factories.content import BlogPostFactory

pytestmark = pytest.mark.django_db
LIMIT = int(EVENT_LIMIT.split("/")[0])  # requests per window

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
URL = "/analytics/event"


def _post(client, payload, origin="http://testserver", **extra):
    headers = {"HTTP_USER_AGENT": BROWSER, **extra}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def test_url_name_resolves_to_the_documented_path():
    assert reverse("content:analytics_event") == URL


def test_records_a_page_view_with_journey_and_post(client):
    post = BlogPostFactory(published=True)
    member = UserFactory()
    client.force_login(member)
    response = _post(
        client,
        {
            "event": "page_view",
            "category": "page_view",
            "session_id": "3f1c2a9e-1d2b-4c5e-9f00-aa11bb22cc33",
            "path": f"/blog/{post.slug}/",
            "referrer": "https://www.google.com/",
            "post_id": str(post.pk),
            "properties": {"scroll": 40},
        },
    )
    assert response.status_code == 204
    event = AnalyticsEvent.objects.get()
    assert event.blog_post == post and event.user == member
    assert event.session_id == "3f1c2a9e-1d2b-4c5e-9f00-aa11bb22cc33"
    assert event.category == "page_view" and event.properties == {"scroll": 40}


def test_cross_origin_posts_are_refused(client):
    response = _post(client, {"event": "page_view"}, origin="https://evil.example")
    assert response.status_code == 403
    response = _post(client, {"event": "page_view"}, origin=None)  # neither Origin nor Referer
    assert response.status_code == 403
    assert not AnalyticsEvent.objects.exists()


def test_referer_from_our_own_page_is_accepted_without_origin(client):
    response = _post(client, {"event": "page_view"}, origin=None, HTTP_REFERER="http://testserver/blog/")
    assert response.status_code == 204
    assert AnalyticsEvent.objects.get().category == "other"


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "Page View!"},
        {"event": "page_view", "category": "made_up"},
        {"event": "page_view", "session_id": "x"},
        {"event": "page_view", "properties": {str(i): i for i in range(21)}},
        ["not", "an", "object"],
    ],
)
def test_bad_payloads_get_400_and_store_nothing(client, payload):
    assert _post(client, payload).status_code == 400
    assert not AnalyticsEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_bots_are_answered_but_not_stored(client):
    response = _post(client, {"event": "page_view"}, HTTP_USER_AGENT="AhrefsBot/7.0")
    assert response.status_code == 204
    assert not AnalyticsEvent.objects.exists()


def test_rate_limited_per_ip(client, rate_window_held):
    for _ in range(LIMIT):
        assert _post(client, {"event": "page_view"}).status_code == 204
    assert _post(client, {"event": "page_view"}).status_code == 429
    assert AnalyticsEvent.objects.count() == LIMIT


def test_unknown_post_id_is_ignored(client):
    assert _post(client, {"event": "page_view", "post_id": "not-a-uuid"}).status_code == 204
    assert AnalyticsEvent.objects.get().blog_post is None


def test_blog_detail_page_carries_the_beacon(client):
    post = BlogPostFactory(published=True)
    html = client.get(reverse("content:blog_detail", args=[post.slug]), HTTP_USER_AGENT=BROWSER).content.decode()
    assert 'data-endpoint="/analytics/event"' in html
    assert f'data-post-id="{post.pk}"' in html
