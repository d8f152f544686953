"""Messages with the care team in a member's data export and erasure (registered with accounts
in ContentConfig.ready(); docs/adr/0180)."""

from __future__ import annotations

from django.db.models import Q

from bloom.text import normalize_email

from .models import ChatConversation, ChatMessage


def _hers(member):
    # Her member conversations, and any she started as a visitor with the same address.
    return ChatConversation.objects.filter(
        Q(user=member) | Q(user__isnull=True, visitor_email=normalize_email(member.email))
    )


def chat_member_export(*, member) -> list[dict]:
    """Her conversations with every message decrypted, oldest first."""
    conversations = list(_hers(member).order_by("created_at"))
    messages: dict = {}
    for message in ChatMessage.objects.filter(conversation__in=conversations).order_by("created_at"):
        messages.setdefault(message.conversation_id, []).append(message)
    return [
        {
            "started_at": conversation.created_at.isoformat(),
            "subject": conversation.subject,
            "status": conversation.status,
            "messages": [
                {
                    "from": "you" if message.sender == "visitor" else message.sender,
                    "sent_at": message.created_at.isoformat(),
                    "body": message.body,
                }
                for message in messages.get(conversation.pk, [])
            ],
        }
        for conversation in conversations
    ]


def chat_member_erase(*, member) -> int:
    """Delete her conversations and their messages (health information). Risk alerts raised by
    them stay in accounts as the record of the care team's response. Returns conversations deleted."""
    deleted, by_model = _hers(member).delete()
    return by_model.get(ChatConversation._meta.label, 0)
