import pytest
from django.db import connection

from content.models import ChatMessage
from tests.factories.content import ChatMessageFactory

pytestmark = pytest.mark.django_db


def test_message_bodies_are_encrypted_at_rest():
    message = ChatMessageFactory(body="I have been feeling very low since the birth")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM chat_messages WHERE id = %s", [message.pk])
        stored = cursor.fetchone()[0]
    assert "feeling very low" not in stored
    assert ChatMessage.objects.get(pk=message.pk).body == "I have been feeling very low since the birth"
