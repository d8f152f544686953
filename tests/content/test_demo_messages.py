from io import StringIO

import pytest

from content import demo
from content.models import ChatConversation, ChatSender
from notifications.models import UserNotification
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_gives_the_demo_member_one_answered_conversation_once(superuser):
    member = UserFactory(email="member@bloom.test")
    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    conversation = ChatConversation.objects.get()
    assert conversation.user == member
    assert list(conversation.messages.values_list("sender", flat=True)) == [ChatSender.VISITOR, ChatSender.STAFF]
    assert conversation.messages.get(sender=ChatSender.STAFF).staff_user == superuser
    assert UserNotification.objects.filter(user=member, type="chat_reply").count() == 1


def test_demo_without_the_demo_member_adds_no_conversation(superuser):
    out = StringIO()
    demo.seed(stdout=out)
    assert not ChatConversation.objects.exists()
    assert "0 demo conversation" in out.getvalue()
