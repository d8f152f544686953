"""Messages with the care team (docs/adr/0180): conversations, replies, office hours.

Message bodies are health information: they are encrypted at rest (`ChatMessage.body`),
never put in an email or a portal notice, and go through accounts' risk text review
when a member writes them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import RiskSource
from accounts.risk import risk_categories_found
from accounts.services import risk_text_review
from bloom.exceptions import ApplicationError
from bloom.links import absolute_reverse, absolute_url, signed_link_read
from notifications.services import EmailPriority, email_enqueue, notification_create

from ..models import ChatConversation, ChatMessage, ChatSender, ChatStatus

if TYPE_CHECKING:
    from accounts.models import User

# Mon-Fri 09:00-17:00 in the practice's zone unless settings.BLOOM_CHAT_HOURS says otherwise.
DEFAULT_CHAT_HOURS = {"days": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "17:00", "zone": "America/Los_Angeles"}
VISITOR_TOKEN_SALT = "content.chat.visitor"  # noqa: S105 - a signing salt, not a secret
VISITOR_TOKEN_MAX_AGE = 60 * 60 * 24 * 60  # a visitor's link works for 60 days
MAX_BODY = 5000
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _hours() -> dict:
    return {**DEFAULT_CHAT_HOURS, **getattr(settings, "BLOOM_CHAT_HOURS", {})}


def _clock(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def chat_hours_open(*, at: dt.datetime | None = None) -> bool:
    """True when `at` (default now) falls inside the practice's hours, in the practice's zone."""
    hours = _hours()
    local = (at or timezone.now()).astimezone(ZoneInfo(hours["zone"]))
    return local.weekday() in hours["days"] and _clock(hours["opens"]) <= local.time() < _clock(hours["closes"])


def chat_next_open_at(*, at: dt.datetime | None = None) -> dt.datetime:
    """The next moment the practice opens after `at` (an aware datetime in the practice's zone).
    If it is open at `at`, returns `at`."""
    hours = _hours()
    zone = ZoneInfo(hours["zone"])
    local = (at or timezone.now()).astimezone(zone)
    if chat_hours_open(at=local):
        return local
    opens = _clock(hours["opens"])
    for offset in range(0, 8):
        day = local.date() + dt.timedelta(days=offset)
        candidate = dt.datetime.combine(day, opens, tzinfo=zone)
        if day.weekday() in hours["days"] and candidate > local:
            return candidate
    raise ApplicationError("BLOOM_CHAT_HOURS names no opening day.")


def chat_auto_reply_text(*, at: dt.datetime | None = None) -> str:
    """The automatic reply sent outside hours: when someone will answer, and where help is now."""
    opens = chat_next_open_at(at=at)
    now_local = (at or timezone.now()).astimezone(opens.tzinfo)
    if opens.date() == now_local.date():
        when = "today"
    elif opens.date() == now_local.date() + dt.timedelta(days=1):
        when = "tomorrow"
    else:
        when = f"on {DAY_NAMES[opens.weekday()]}"
    clock = opens.strftime("%I:%M %p").lstrip("0")
    zone_name = opens.tzname()
    return (
        "Thank you for writing to us. Our care team is away right now, and someone will read your "
        f"message and answer {when} after {clock} ({zone_name}).\n"
        "If you need help now, you can call or text 988, or call or text the National Maternal Mental "
        "Health Hotline at 1-833-852-6262 (24 hours a day). If you are in danger, call 911 or your "
        "local emergency number."
    )


def chat_visitor_token(*, conversation: ChatConversation) -> str:
    """A signed token that lets the visitor who started `conversation` come back to it."""
    return signing.dumps({"c": str(conversation.pk), "e": conversation.visitor_email}, salt=VISITOR_TOKEN_SALT)


def chat_visitor_url(*, conversation: ChatConversation) -> str:
    return absolute_url(
        reverse("content:messages_visitor_thread", kwargs={"token": chat_visitor_token(conversation=conversation)})
    )


def chat_visitor_token_read(*, token: str) -> ChatConversation:
    """The visitor conversation a token names. Raises ApplicationError when the token is bad,
    expired, or no longer matches the conversation's email (e.g. after erasure)."""
    data = signed_link_read(
        token,
        salt=VISITOR_TOKEN_SALT,
        max_age=VISITOR_TOKEN_MAX_AGE,
        expired="This link has expired. Please start a new message.",
        invalid="This link is not valid.",
    )
    conversation = ChatConversation.objects.filter(
        pk=data.get("c"), user__isnull=True, visitor_email=data.get("e")
    ).first()
    if conversation is None or not conversation.visitor_email:
        raise ApplicationError("This link is not valid.")
    return conversation


@transaction.atomic
def chat_message_post(
    *, conversation: ChatConversation, sender: str, body: str, staff_user: User | None = None
) -> ChatMessage:
    """Add a message to a conversation and keep its status and last-message time current:
    a staff reply leaves it waiting for the visitor, a visitor message reopens it."""
    body = body.strip()
    if not body:
        raise ApplicationError("A message cannot be empty.")
    if len(body) > MAX_BODY:
        raise ApplicationError(f"Please keep a message under {MAX_BODY} characters.")
    conversation = ChatConversation.objects.select_for_update().get(pk=conversation.pk)
    message = ChatMessage.objects.create(
        conversation=conversation,
        sender=sender,
        body=body,
        staff_user=staff_user if sender == ChatSender.STAFF else None,
    )
    conversation.last_message_at = message.created_at
    if sender == ChatSender.STAFF:
        conversation.status = ChatStatus.WAITING
        conversation.assigned_to = conversation.assigned_to or staff_user
    elif sender == ChatSender.VISITOR:
        conversation.status = ChatStatus.OPEN
        conversation.closed_at = None
    conversation.save(update_fields=["last_message_at", "status", "assigned_to", "closed_at", "updated_at"])
    return message


def _staff_alert(*, conversation: ChatConversation, message: ChatMessage) -> None:
    """Tell the care team's inbox that a conversation needs an answer (new, or written in again
    after staff answered or closed it): a link to the admin, never the words."""
    email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        subject="A message is waiting for the care team",
        text_body=(
            "Someone has written to Bloom's care team and is waiting for an answer.\n\n"
            f"Open the conversation: {absolute_reverse('admin:content_chatconversation_change', conversation.pk)}\n"
        ),
        priority=EmailPriority.HIGH,
        idempotency_key=f"chat-staff-alert:{message.pk}",
    )


def _needs_auto_reply(conversation: ChatConversation, at: dt.datetime | None) -> bool:
    """Out of hours, and no automatic reply since the care team last wrote (one per quiet spell)."""
    if chat_hours_open(at=at):
        return False
    last = conversation.messages.exclude(sender=ChatSender.VISITOR).order_by("-created_at").first()
    return last is None or last.sender != ChatSender.SYSTEM


@transaction.atomic
def chat_writer_message_post(*, conversation: ChatConversation, body: str, at: dt.datetime | None = None) -> dict:
    """The member or visitor who owns `conversation` writes in it.

    Guarantees: the message is stored (encrypted); a member's words go through
    `risk_text_review` (source "chat", one open alert per conversation); outside the practice's
    hours one automatic reply says when someone will answer. Returns
    {"message", "auto_reply" (message or None), "risk" (bool: show crisis resources now)}.
    """
    was_waiting = ChatConversation.objects.filter(pk=conversation.pk).exclude(status=ChatStatus.OPEN).exists()
    message = chat_message_post(conversation=conversation, sender=ChatSender.VISITOR, body=body)
    first = not conversation.messages.exclude(pk=message.pk).exists()
    if first or was_waiting:
        _staff_alert(conversation=conversation, message=message)
    if conversation.user_id:
        alert = risk_text_review(
            member=conversation.user, text=message.body, source=RiskSource.CHAT, source_object_id=str(conversation.pk)
        )
        risk = alert is not None or bool(risk_categories_found(message.body))
    else:
        risk = bool(risk_categories_found(message.body))
    auto_reply = None
    if _needs_auto_reply(conversation, at):
        auto_reply = chat_message_post(
            conversation=conversation, sender=ChatSender.SYSTEM, body=chat_auto_reply_text(at=at)
        )
    return {"message": message, "auto_reply": auto_reply, "risk": risk}


@transaction.atomic
def chat_conversation_start(
    *,
    body: str,
    user: User | None = None,
    visitor_email: str = "",
    visitor_name: str = "",
    subject: str = "",
    at: dt.datetime | None = None,
) -> dict:
    """Start a conversation with the care team: a member's (`user`) or a visitor's (by email).

    A visitor is emailed a signed link to come back to it (no message text in the email).
    Returns what `chat_writer_message_post` returns, plus "conversation".
    """
    if user is None and not visitor_email.strip():
        raise ApplicationError("Please give us an email address so we can answer you.")
    conversation = ChatConversation.objects.create(
        user=user,
        visitor_email="" if user else visitor_email.strip().lower(),
        visitor_name=(visitor_name or (user.first_name if user else "")).strip()[:150],
        subject=subject.strip()[:200],
    )
    result = chat_writer_message_post(conversation=conversation, body=body, at=at)
    if user is None:
        email_enqueue(
            to=conversation.visitor_email,
            subject="Your message to Bloom",
            text_body=(
                "Thank you for writing to Bloom's care team. We have your message.\n\n"
                "To read our answer or add to your message, open this private link:\n"
                f"{chat_visitor_url(conversation=conversation)}\n\n"
                "If you need help now, call or text 988, or the National Maternal Mental Health Hotline "
                "at 1-833-852-6262. In an emergency, call 911.\n"
            ),
            idempotency_key=f"chat-started:{conversation.pk}",
        )
    result["conversation"] = conversation
    return result


@transaction.atomic
def chat_staff_reply(*, conversation: ChatConversation, body: str, staff_user: User) -> ChatMessage:
    """A staff member answers. The writer is told a reply is waiting, never what it says:
    a member by portal notice (and email per her preferences), a visitor by email with her link."""
    message = chat_message_post(conversation=conversation, sender=ChatSender.STAFF, body=body, staff_user=staff_user)
    if conversation.user_id:
        notification_create(
            member=conversation.user,
            type="chat_reply",
            title="The care team has answered your message",
            message="Sign in to Bloom to read it in Messages.",
            data={
                "conversation_id": str(conversation.pk),
                "url": reverse("content:messages_thread", args=[conversation.pk]),
            },
        )
    elif conversation.visitor_email:
        email_enqueue(
            to=conversation.visitor_email,
            subject="A reply from Bloom is waiting for you",
            text_body=(
                "Bloom's care team has answered your message.\n\n"
                f"Read it here (a private link): {chat_visitor_url(conversation=conversation)}\n"
            ),
            idempotency_key=f"chat-reply:{message.pk}",
        )
    return message


def chat_conversation_close(*, conversation: ChatConversation) -> int:
    """Close a conversation. Idempotent; returns 1 if it was open."""
    return (
        ChatConversation.objects.filter(pk=conversation.pk)
        .exclude(status=ChatStatus.CLOSED)
        .update(status=ChatStatus.CLOSED, closed_at=timezone.now(), updated_at=timezone.now())
    )
