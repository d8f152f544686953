"""Support chat: messages and closing conversations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from bloom.exceptions import ApplicationError

from ..models import ChatConversation, ChatMessage, ChatSender, ChatStatus

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def chat_message_post(
    *, conversation: ChatConversation, sender: str, body: str, staff_user: User | None = None
) -> ChatMessage:
    """Add a message to a conversation and keep its status and last-message time current:
    a staff reply leaves it waiting for the visitor, a visitor message reopens it."""
    if not body.strip():
        raise ApplicationError("A message cannot be empty.")
    conversation = ChatConversation.objects.select_for_update().get(pk=conversation.pk)
    message = ChatMessage.objects.create(
        conversation=conversation,
        sender=sender,
        body=body.strip(),
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


def chat_conversation_close(*, conversation: ChatConversation) -> int:
    """Close a conversation. Idempotent; returns 1 if it was open."""
    return (
        ChatConversation.objects.filter(pk=conversation.pk)
        .exclude(status=ChatStatus.CLOSED)
        .update(status=ChatStatus.CLOSED, closed_at=timezone.now(), updated_at=timezone.now())
    )
