"""Reads for messages with the care team (re-exported from `content.selectors`)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import ChatConversation, ChatMessage


def chat_conversation_list_for_member(*, member) -> QuerySet[ChatConversation]:
    """Her own conversations, newest activity first."""
    return ChatConversation.objects.filter(user=member).order_by("-last_message_at", "-created_at")


def chat_conversation_get_for_member(*, member, conversation_id) -> ChatConversation:
    """One of her conversations; 404 for anyone else's (fencing)."""
    return get_object_or_404(ChatConversation, pk=conversation_id, user=member)


def chat_message_list(*, conversation: ChatConversation, after=None) -> QuerySet[ChatMessage]:
    """A conversation's messages, oldest first; only those created after `after` when given."""
    messages = ChatMessage.objects.filter(conversation=conversation).select_related("staff_user").order_by("created_at")
    if after is not None:
        messages = messages.filter(created_at__gt=after)
    return messages
