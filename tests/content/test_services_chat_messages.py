"""Messages with the care team: starting, hours and the auto-reply, notices without content,
risk review, visitor links, encryption at rest, export and erasure."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.models import RiskAlert, RiskSource
from accounts.selectors.members import member_data_export
from accounts.services.data_requests import member_anonymize
from bloom.exceptions import ApplicationError
from content import services
from content.models import ChatConversation, ChatMessage, ChatSender, ChatStatus
from notifications.models import EmailQueue, UserNotification
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
TUESDAY_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=LA)
TUESDAY_18 = dt.datetime(2026, 12, 1, 18, 0, tzinfo=LA)
FRIDAY_18 = dt.datetime(2026, 12, 4, 18, 0, tzinfo=LA)
SECRET = "I feel low since the birth and cannot sleep"


def test_hours_follow_the_practice_zone_and_days():
    assert services.chat_hours_open(at=TUESDAY_10)
    assert not services.chat_hours_open(at=TUESDAY_18)
    assert not services.chat_hours_open(at=dt.datetime(2026, 12, 5, 10, 0, tzinfo=LA))  # Saturday
    # 17:30 UTC is 09:30 in Los Angeles: open, whatever the server's zone.
    assert services.chat_hours_open(at=dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.UTC))
    assert services.chat_next_open_at(at=FRIDAY_18) == dt.datetime(2026, 12, 7, 9, 0, tzinfo=LA)
    assert services.chat_next_open_at(at=TUESDAY_18) == dt.datetime(2026, 12, 2, 9, 0, tzinfo=LA)


def test_hours_come_from_settings(settings):
    settings.BLOOM_CHAT_HOURS = {"days": [5], "opens": "08:00", "closes": "12:00", "zone": "Europe/London"}
    saturday_9_london = dt.datetime(2026, 12, 5, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    assert services.chat_hours_open(at=saturday_9_london)
    assert not services.chat_hours_open(at=TUESDAY_10)


def test_member_starts_in_hours_without_auto_reply():
    member = UserFactory()
    result = services.chat_conversation_start(body="When is my next session?", user=member, at=TUESDAY_10)
    conversation = result["conversation"]
    assert result["auto_reply"] is None and result["risk"] is False
    assert conversation.user == member and conversation.visitor_email == ""
    assert list(conversation.messages.values_list("sender", flat=True)) == [ChatSender.VISITOR]
    assert conversation.status == ChatStatus.OPEN


def test_out_of_hours_sends_one_auto_reply_naming_when_and_the_crisis_lines():
    member = UserFactory()
    result = services.chat_conversation_start(body="Hello", user=member, at=FRIDAY_18)
    reply = result["auto_reply"]
    assert reply.sender == ChatSender.SYSTEM
    assert "on Monday after 9:00 AM" in reply.body
    assert "988" in reply.body and "1-833-852-6262" in reply.body
    # A second message in the same quiet spell gets no second auto-reply...
    again = services.chat_writer_message_post(conversation=result["conversation"], body="Also this", at=FRIDAY_18)
    assert again["auto_reply"] is None
    # ...but after a staff answer, a new out-of-hours message does.
    services.chat_staff_reply(
        conversation=result["conversation"], body="Answered", staff_user=UserFactory(is_staff=True)
    )
    later = services.chat_writer_message_post(conversation=result["conversation"], body="Thanks", at=TUESDAY_18)
    assert later["auto_reply"] is not None and "tomorrow" in later["auto_reply"].body


def test_member_words_go_through_risk_review_once_per_conversation():
    member = UserFactory()
    result = services.chat_conversation_start(body="I want to die", user=member, at=TUESDAY_10)
    assert result["risk"] is True
    alert = RiskAlert.objects.get(user=member)
    assert alert.source == RiskSource.CHAT and alert.source_object_id == str(result["conversation"].pk)
    assert "want to die" not in alert.reason
    services.chat_writer_message_post(conversation=result["conversation"], body="I want to die", at=TUESDAY_10)
    assert RiskAlert.objects.filter(user=member).count() == 1


def test_staff_reply_tells_the_member_without_the_content():
    member = UserFactory()
    conversation = services.chat_conversation_start(body="Question", user=member, at=TUESDAY_10)["conversation"]
    services.chat_staff_reply(conversation=conversation, body=SECRET, staff_user=UserFactory(is_staff=True))
    notice = UserNotification.objects.get(user=member, type="chat_reply")
    assert SECRET not in notice.title + notice.message
    assert notice.data["conversation_id"] == str(conversation.pk)
    mail = EmailQueue.objects.get(user=member)
    assert SECRET not in mail.subject + mail.text_body + mail.html_body + mail.mime_message
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.WAITING


def test_visitor_gets_a_signed_link_and_reply_mail_without_content():
    result = services.chat_conversation_start(
        body=SECRET, visitor_email="Ana@Example.org", visitor_name="Ana", at=TUESDAY_10
    )
    conversation = result["conversation"]
    assert conversation.visitor_email == "ana@example.org" and conversation.user is None
    started = EmailQueue.objects.get(to_email="ana@example.org")
    token = services.chat_visitor_token(conversation=conversation)
    assert token in started.text_body and SECRET not in started.text_body
    assert services.chat_visitor_token_read(token=token) == conversation
    services.chat_staff_reply(
        conversation=conversation, body="Our answer is private", staff_user=UserFactory(is_staff=True)
    )
    reply_mail = EmailQueue.objects.exclude(pk=started.pk).get(to_email="ana@example.org")
    assert "Our answer is private" not in reply_mail.text_body + reply_mail.mime_message
    assert "/messages/v/" in reply_mail.text_body


def test_visitor_tokens_refuse_tampering_and_a_changed_email():
    conversation = services.chat_conversation_start(body="Hi", visitor_email="a@example.org", at=TUESDAY_10)[
        "conversation"
    ]
    token = services.chat_visitor_token(conversation=conversation)
    with pytest.raises(ApplicationError):
        services.chat_visitor_token_read(token=token[:-2] + "xx")
    ChatConversation.objects.filter(pk=conversation.pk).update(visitor_email="other@example.org")
    with pytest.raises(ApplicationError):
        services.chat_visitor_token_read(token=token)


def test_a_visitor_must_give_an_email_and_messages_must_have_words():
    with pytest.raises(ApplicationError):
        services.chat_conversation_start(body="Hi", visitor_email=" ")
    with pytest.raises(ApplicationError):
        services.chat_conversation_start(body="   ", user=UserFactory())
    with pytest.raises(ApplicationError):
        services.chat_conversation_start(body="x" * 5001, user=UserFactory())
    assert not ChatMessage.objects.exists()


def test_bodies_are_encrypted_at_rest():
    member = UserFactory()
    message = services.chat_conversation_start(body=SECRET, user=member, at=TUESDAY_10)["message"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM chat_messages WHERE id = %s", [message.pk])
        (stored,) = cursor.fetchone()
    assert SECRET not in stored and stored.startswith("gAAAA")
    assert ChatMessage.objects.get(pk=message.pk).body == SECRET


def test_export_holds_her_conversations_decrypted_and_erasure_removes_them():
    member = UserFactory(email="maya@example.org")
    other = UserFactory()
    services.chat_conversation_start(body=SECRET, user=member, at=TUESDAY_10)
    services.chat_conversation_start(
        body="As a visitor before I joined", visitor_email="maya@example.org", at=TUESDAY_10
    )
    kept = services.chat_conversation_start(body="Not hers", user=other, at=TUESDAY_10)["conversation"]
    exported = member_data_export(member=member)["chat_conversations"]
    bodies = [m["body"] for c in exported for m in c["messages"]]
    assert SECRET in bodies and "As a visitor before I joined" in bodies and "Not hers" not in bodies
    member_anonymize(member=member)
    assert list(ChatConversation.objects.all()) == [kept]
    assert ChatMessage.objects.filter(conversation=kept).count() == 1


def test_the_care_team_inbox_is_alerted_without_the_words(settings):
    settings.BLOOM_STAFF_ALERT_EMAIL = "care@example.org"
    member = UserFactory()
    conversation = services.chat_conversation_start(body=SECRET, user=member, at=TUESDAY_10)["conversation"]
    alerts = EmailQueue.objects.filter(to_email="care@example.org")
    assert alerts.count() == 1
    alert = alerts.get()
    assert SECRET not in alert.subject + alert.text_body + alert.mime_message
    assert f"/admin/content/chatconversation/{conversation.pk}/change/" in alert.text_body
    # A second message while staff have not answered yet: no second alert.
    services.chat_writer_message_post(conversation=conversation, body="And another", at=TUESDAY_10)
    assert alerts.count() == 1
    # Written in again after a staff answer: the inbox hears about it.
    services.chat_staff_reply(conversation=conversation, body="Answer", staff_user=UserFactory(is_staff=True))
    services.chat_writer_message_post(conversation=conversation, body="Thanks, one more", at=TUESDAY_10)
    assert alerts.count() == 2
