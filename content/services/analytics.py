"""Analytics: storing visitor events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import AnalyticsEvent, BlogPost

if TYPE_CHECKING:
    from accounts.models import User


def analytics_event_record(
    *,
    event_name: str,
    category: str,
    session_id: str = "",
    user: User | None = None,
    path: str = "",
    referrer: str = "",
    properties: dict | None = None,
    blog_post: BlogPost | None = None,
) -> AnalyticsEvent:
    """Store one analytics event (inputs already validated by the caller)."""
    return AnalyticsEvent.objects.create(
        event_name=event_name,
        category=category,
        session_id=session_id,
        user=user if user is not None and user.is_authenticated else None,
        path=path[:500],
        referrer=referrer[:500],
        properties=properties or {},
        blog_post=blog_post,
    )
