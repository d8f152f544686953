import pytest
from django.core import mail  # noqa: F401 - locmem outbox reset per test

from notifications.models import EmailQueue, UserNotification
from notifications.services import notification_create
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_notification_create_writes_the_notice_and_emails_when_preferred():
    member = UserFactory()
    notice = notification_create(member=member, type="course", title="New lesson", message="Week 2 is open")

    assert (notice.user, notice.read, notice.data) == (member, False, {})
    queued = EmailQueue.objects.get(template_key="notifications/notice")
    assert queued.to_email == member.email and queued.subject == "New lesson"
    assert "Week 2 is open" in queued.text_body


def test_notification_create_honours_portal_only_preference():
    member = UserFactory()
    member.preferences.notification_channel = "portal"
    member.preferences.save()

    notification_create(member=member, type="course", title="New lesson")

    assert UserNotification.objects.filter(user=member).count() == 1
    assert not EmailQueue.objects.filter(template_key="notifications/notice").exists()
