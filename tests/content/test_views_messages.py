"""/messages/: a member's list and threads (fenced), a visitor's form and signed link, the
out-of-hours crisis resources, and the JSON the page polls."""

import pytest
from django.urls import reverse

from content import services
from content.models import ChatConversation, ChatSender
from notifications.models import EmailQueue
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

ALWAYS_OPEN = {"days": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "23:59", "zone": "UTC"}
NEVER_OPEN = {"days": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "00:00", "zone": "UTC"}
CRISIS = "National Maternal Mental Health Hotline"


@pytest.fixture
def open_hours(settings):
    settings.BLOOM_CHAT_HOURS = ALWAYS_OPEN


@pytest.fixture
def closed_hours(settings):
    settings.BLOOM_CHAT_HOURS = NEVER_OPEN


def test_member_starts_a_conversation_and_sees_it_listed(client, open_hours):
    member = UserFactory()
    client.force_login(member)
    response = client.post(reverse("content:messages_home"), {"body": "Can I move my session?"})
    conversation = ChatConversation.objects.get(user=member)
    assert response.status_code == 302 and response["Location"] == reverse(
        "content:messages_thread", args=[conversation.pk]
    )
    page = client.get(response["Location"])
    assert "Can I move my session?" in page.content.decode()
    assert "crisis-heading" not in page.content.decode()  # in hours, no risk words
    listing = client.get(reverse("content:messages_home")).content.decode()
    assert reverse("content:messages_thread", args=[conversation.pk]) in listing


def test_another_members_thread_and_updates_are_404(client, open_hours):
    owner, other = UserFactory(), UserFactory()
    conversation = services.chat_conversation_start(body="Mine", user=owner)["conversation"]
    client.force_login(other)
    assert client.get(reverse("content:messages_thread", args=[conversation.pk])).status_code == 404
    assert client.get(reverse("content:messages_thread_updates", args=[conversation.pk])).status_code == 404
    response = client.post(reverse("content:messages_thread", args=[conversation.pk]), {"body": "Not yours"})
    assert response.status_code == 404
    assert conversation.messages.count() == 1


def test_a_logged_out_visitor_cannot_open_a_member_thread(client, open_hours):
    conversation = services.chat_conversation_start(body="Mine", user=UserFactory())["conversation"]
    response = client.get(reverse("content:messages_thread", args=[conversation.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_out_of_hours_the_thread_shows_the_auto_reply_and_crisis_resources(client, closed_hours):
    client.force_login(UserFactory())
    response = client.post(reverse("content:messages_home"), {"body": "Hello"}, follow=True)
    html = response.content.decode()
    assert "Our care team is away right now" in html
    assert CRISIS in html and 'href="tel:988"' in html


def test_risk_words_in_hours_show_the_crisis_resources_at_once(client, open_hours):
    client.force_login(UserFactory())
    response = client.post(reverse("content:messages_home"), {"body": "I want to die"}, follow=True)
    assert "crisis-heading" in response.content.decode()


def test_visitor_form_needs_an_email_and_is_kept_on_error(client, open_hours):
    response = client.post(reverse("content:messages_home"), {"body": "Hello"})
    assert response.status_code == 400
    assert not ChatConversation.objects.exists()
    assert 'name="visitor_email"' in response.content.decode()


def test_visitor_starts_by_email_and_comes_back_by_the_signed_link(client, closed_hours):
    response = client.post(
        reverse("content:messages_home"), {"visitor_email": "ana@example.org", "visitor_name": "Ana", "body": "Hello"}
    )
    conversation = ChatConversation.objects.get(visitor_email="ana@example.org")
    assert response.status_code == 302 and "/messages/v/" in response["Location"]
    assert EmailQueue.objects.filter(to_email="ana@example.org").count() == 1
    page = client.get(response["Location"])
    assert page.status_code == 200 and CRISIS in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    client.post(response["Location"], {"body": "One more thing"})
    assert conversation.messages.filter(sender=ChatSender.VISITOR).count() == 2
    fresh = client.__class__()
    assert fresh.get(response["Location"][:-3] + "xx/").status_code == 404


def test_updates_return_only_newer_messages_as_json(client, open_hours):
    member = UserFactory()
    conversation = services.chat_conversation_start(body="First", user=member)["conversation"]
    first = conversation.messages.get()
    services.chat_staff_reply(conversation=conversation, body="<b>Answer</b>", staff_user=UserFactory(is_staff=True))
    client.force_login(member)
    url = reverse("content:messages_thread_updates", args=[conversation.pk])
    data = client.get(url, {"after": first.created_at.isoformat()}).json()
    assert [m["body"] for m in data["messages"]] == ["<b>Answer</b>"]
    assert data["messages"][0]["who"] == "Bloom care team"
    assert len(client.get(url).json()["messages"]) == 2


def test_the_thread_page_escapes_message_html(client, open_hours):
    member = UserFactory()
    conversation = services.chat_conversation_start(body="<script>x()</script>", user=member)["conversation"]
    client.force_login(member)
    html = client.get(reverse("content:messages_thread", args=[conversation.pk])).content.decode()
    assert "<script>x()" not in html and "&lt;script&gt;" in html


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_and_thread_query_counts_do_not_grow_with_history(client, open_hours):
    """Pinned here rather than in tests/bloom/test_views_query_counts.py, whose walk covers the
    member namespaces only (these pages are in `content`)."""
    member, staff = UserFactory(), UserFactory(is_staff=True)
    conversation = services.chat_conversation_start(body="One", user=member)["conversation"]
    services.chat_staff_reply(conversation=conversation, body="Two", staff_user=staff)
    client.force_login(member)
    home = reverse("content:messages_home")
    thread = reverse("content:messages_thread", args=[conversation.pk])
    updates = reverse("content:messages_thread_updates", args=[conversation.pk])
    for url in (home, thread, updates):
        client.get(url)  # warm the session
    small = [_queries(client, url) for url in (home, thread, updates)]
    for n in range(4):
        services.chat_conversation_start(body=f"More {n}", user=member)
        services.chat_staff_reply(conversation=conversation, body=f"Reply {n}", staff_user=UserFactory(is_staff=True))
        services.chat_conversation_start(body="Someone else's", user=UserFactory())
    for url in (home, thread, updates):
        client.get(url)  # the staff's replies were notices to her: they dropped the bell's kept count
    large = [_queries(client, url) for url in (home, thread, updates)]
    assert large == small
    assert small == PINNED_QUERIES, small


# home, thread, updates: session, user with profile + the page's own (the bell's count is kept in
# the cache; the thread marks her notices of it read, so it reads the count again)
PINNED_QUERIES = [3, 4, 4]
