import pytest

from bloom.exceptions import ApplicationError
from content import services
from content.models import ChatMessage, ChatSender, ChatStatus
from tests.factories.content import ChatConversationFactory

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
