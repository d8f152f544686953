"""The chat thread in the admin: reading is audited, a reply goes through the service (the member
is told without the content), assignment and status are set there."""

import pytest
from django.urls import reverse

from accounts.models import AdminAction, AdminActivityLog
from content import services
from content.models import ChatConversation, ChatSender, ChatStatus
from notifications.models import UserNotification
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(settings):
    settings.BLOOM_CHAT_HOURS = {"days": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "23:59", "zone": "UTC"}
    return services.chat_conversation_start(body="Is Tuesday free?", user=UserFactory())["conversation"]


def _post(conversation, superuser, **overrides):
    existing = conversation.messages.count()
    data = {
        "subject": conversation.subject,
        "status": conversation.status,
        "assigned_to": "",
        "messages-TOTAL_FORMS": str(existing + 1),
        "messages-INITIAL_FORMS": str(existing),
        "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "1000",
        f"messages-{existing}-body": "",
        f"messages-{existing}-conversation": str(conversation.pk),
    }
    for index, message in enumerate(conversation.messages.order_by("created_at")):
        data[f"messages-{index}-id"] = str(message.pk)
        data[f"messages-{index}-conversation"] = str(conversation.pk)
    data.update({key.replace("NEW", str(existing)): value for key, value in overrides.items()})
    return data


def test_opening_the_thread_is_audited_and_shows_it(admin_client, superuser, conversation):
    response = admin_client.get(reverse("admin:content_chatconversation_change", args=[conversation.pk]))
    assert response.status_code == 200 and "Is Tuesday free?" in response.content.decode()
    log = AdminActivityLog.objects.get(action=AdminAction.VIEW_HEALTH)
    assert log.user == superuser and log.object_id == str(conversation.pk)


def test_a_reply_typed_in_the_admin_is_a_staff_reply_that_tells_the_member(admin_client, superuser, conversation):
    url = reverse("admin:content_chatconversation_change", args=[conversation.pk])
    response = admin_client.post(url, _post(conversation, superuser, **{"messages-NEW-body": "Yes, 10 am is free."}))
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = conversation.messages.get(sender=ChatSender.STAFF)
    assert reply.body == "Yes, 10 am is free." and reply.staff_user == superuser
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.WAITING and conversation.assigned_to == superuser
    notice = UserNotification.objects.get(user=conversation.user, type="chat_reply")
    assert "10 am" not in notice.title + notice.message


def test_assignment_and_closing_from_the_form(admin_client, superuser, conversation):
    colleague = UserFactory(is_staff=True)
    url = reverse("admin:content_chatconversation_change", args=[conversation.pk])
    data = _post(conversation, superuser, status=ChatStatus.CLOSED, assigned_to=str(colleague.pk))
    assert admin_client.post(url, data).status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.CLOSED and conversation.closed_at is not None
    assert conversation.assigned_to == colleague
    assert not conversation.messages.filter(sender=ChatSender.STAFF).exists()


def test_only_staff_can_be_assigned(admin_client, superuser, conversation):
    url = reverse("admin:content_chatconversation_change", args=[conversation.pk])
    data = _post(conversation, superuser, assigned_to=str(conversation.user.pk))
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form is shown again with the error
    conversation.refresh_from_db()
    assert conversation.assigned_to is None
    assert ChatConversation.objects.count() == 1


def test_a_chat_risk_alert_links_to_the_conversation(admin_client, conversation):
    from accounts.models import RiskAlert

    services.chat_writer_message_post(conversation=conversation, body="I want to die")
    alert = RiskAlert.objects.get(user=conversation.user, source="chat")
    response = admin_client.get(reverse("admin:accounts_riskalert_change", args=[alert.pk]))
    assert response.status_code == 200
    assert reverse("admin:content_chatconversation_change", args=[conversation.pk]) in response.content.decode()
