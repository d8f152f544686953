import pytest
from django.db import connection
from django.urls import reverse

from bloom.exceptions import ApplicationError
from content import services
from content.models import ChatMessage, ChatSender, ChatStatus
from tests.factories.content import ChatConversationFactory, ChatMessageFactory

pytestmark = pytest.mark.django_db


def test_staff_reply_waits_for_visitor_and_visitor_reopens(superuser):
    conversation = ChatConversationFactory()
    services.chat_message_post(
        conversation=conversation, sender=ChatSender.STAFF, body="Happy to help", staff_user=superuser
    )
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.WAITING and conversation.assigned_to == superuser
    assert conversation.last_message_at is not None
    services.chat_conversation_close(conversation=conversation)
    services.chat_message_post(conversation=conversation, sender=ChatSender.VISITOR, body="One more question")
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.OPEN and conversation.closed_at is None


def test_empty_message_is_refused():
    conversation = ChatConversationFactory()
    with pytest.raises(ApplicationError):
        services.chat_message_post(conversation=conversation, sender=ChatSender.VISITOR, body="  ")
    assert not ChatMessage.objects.exists()


def test_message_bodies_are_encrypted_at_rest():
    message = ChatMessageFactory(body="I have been feeling very low since the birth")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM chat_messages WHERE id = %s", [message.pk])
        stored = cursor.fetchone()[0]
    assert "feeling very low" not in stored
    assert ChatMessage.objects.get(pk=message.pk).body == "I have been feeling very low since the birth"


def test_staff_reply_in_admin_becomes_a_staff_message(admin_client, superuser):
    conversation = ChatConversationFactory()
    ChatMessageFactory(conversation=conversation)
    url = reverse("admin:content_chatconversation_change", args=[conversation.pk])
    response = admin_client.post(
        url,
        {
            "user": "",
            "visitor_name": conversation.visitor_name,
            "visitor_email": conversation.visitor_email,
            "subject": conversation.subject,
            "status": "open",
            "assigned_to": "",
            "messages-TOTAL_FORMS": "2",
            "messages-INITIAL_FORMS": "1",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
            "messages-0-id": str(conversation.messages.get().pk),
            "messages-0-conversation": str(conversation.pk),
            "messages-1-id": "",
            "messages-1-conversation": str(conversation.pk),
            "messages-1-body": "We have evening slots on Tuesdays.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    reply = conversation.messages.get(sender=ChatSender.STAFF)
    assert reply.staff_user == superuser and reply.body == "We have evening slots on Tuesdays."
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.WAITING
