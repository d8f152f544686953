import pytest
from django.core import mail  # noqa: F401 - locmem outbox reset per test
from django.urls import reverse

from notifications.context_processors import unread_count
from notifications.models import UserNotification
from tests.factories.accounts import UserFactory
from tests.factories.notifications import UserNotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bell_context_processor(settings):
    """The lead adds notifications.context_processors.unread_count to settings; until then, here."""
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    if "notifications.context_processors.unread_count" not in processors:
        settings.TEMPLATES = [
            {
                **settings.TEMPLATES[0],
                "OPTIONS": {
                    **settings.TEMPLATES[0]["OPTIONS"],
                    "context_processors": [*processors, "notifications.context_processors.unread_count"],
                },
            }
        ]


def test_list_page_shows_only_my_notices_in_fixed_queries(client, django_assert_num_queries, bell_context_processor):
    me, other = UserFactory(), UserFactory()
    UserNotificationFactory.create_batch(3, user=me)
    UserNotificationFactory(user=other, title="Someone else's")
    client.force_login(me)

    with django_assert_num_queries(3):  # session, user with her profile (time zone), notices with the bell's count
        response = client.get(reverse("notifications:notification_list"))

    assert response.status_code == 200
    assert len(response.context["notifications"]) == 3
    assert b"Someone else" not in response.content
    assert response.context["notifications_unread_count"] == 3


def test_mark_read_is_fenced_to_the_owner(client):
    me, other = UserFactory(), UserFactory()
    mine, theirs = UserNotificationFactory(user=me), UserNotificationFactory(user=other)
    client.force_login(me)

    assert client.post(reverse("notifications:notification_mark_read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read is False

    assert client.post(reverse("notifications:notification_mark_read", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert mine.read is True and mine.read_at is not None


def test_mark_all_read_touches_only_mine(client):
    me, other = UserFactory(), UserFactory()
    UserNotificationFactory.create_batch(2, user=me)
    theirs = UserNotificationFactory(user=other)
    client.force_login(me)

    assert client.get(reverse("notifications:notification_mark_all_read")).status_code == 405
    client.post(reverse("notifications:notification_mark_all_read"))

    assert not UserNotification.objects.filter(user=me, read=False).exists()
    theirs.refresh_from_db()
    assert theirs.read is False


def test_unread_count_context_processor_is_one_query(rf, django_assert_num_queries):
    me = UserFactory()
    UserNotificationFactory.create_batch(2, user=me)
    UserNotificationFactory(user=me, read=True)
    request = rf.get("/")
    request.user = me
    with django_assert_num_queries(1):
        assert unread_count(request) == {"notifications_unread_count": 2}


def test_list_page_requires_login(client):
    response = client.get(reverse("notifications:notification_list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_notice_links_to_what_it_is_about_and_only_inside_the_site(client):
    me = UserFactory()
    UserNotificationFactory(user=me, title="Your lesson is ready", data={"url": "/courses/calm/"})
    UserNotificationFactory(user=me, title="Elsewhere", data={"url": "https://evil.example/"})
    UserNotificationFactory(user=me, title="Script", data={"url": "javascript:alert(1)"})
    UserNotificationFactory(user=me, title="Plain notice", data={})
    client.force_login(me)

    html = client.get(reverse("notifications:notification_list")).content.decode()

    assert '<h2><a href="/courses/calm/">Your lesson is ready</a>' in html
    assert "<h2>Elsewhere" in html and "evil.example" not in html
    assert "<h2>Script" in html and "javascript:" not in html
    assert "<h2>Plain notice" in html


def _bell(client) -> int:
    """The unread count the bell shows on a page that does not read her notices itself."""
    return client.get(reverse("accounts:privacy")).context["notifications_unread_count"]


def test_the_kept_bell_count_follows_every_change_to_her_notices(client, bell_context_processor):
    """The count is kept in the cache between pages; a notice written, read, all read or
    deleted shows on her next page, and another member's notices never move her bell."""
    from notifications.services import notification_create, notification_mark_all_read

    me, other = UserFactory(), UserFactory()
    first = UserNotificationFactory(user=me)
    client.force_login(me)
    assert _bell(client) == 1

    notification_create(member=me, type="system", title="Your lesson is ready", email=False)
    assert _bell(client) == 2
    UserNotificationFactory(user=other)
    assert _bell(client) == 2
    client.post(reverse("notifications:notification_mark_read", args=[first.pk]))
    assert _bell(client) == 1
    UserNotificationFactory(user=me)
    assert _bell(client) == 2
    notification_mark_all_read(member=me)  # an UPDATE: no post_save
    assert _bell(client) == 0
    UserNotificationFactory(user=me)
    assert _bell(client) == 1
    UserNotification.objects.filter(user=me, read=False).delete()
    assert _bell(client) == 0


def test_each_member_sees_her_own_kept_bell_count(client, bell_context_processor):
    me, other = UserFactory(), UserFactory()
    UserNotificationFactory.create_batch(2, user=me)
    client.force_login(me)
    assert _bell(client) == 2
    client.force_login(other)
    assert _bell(client) == 0
