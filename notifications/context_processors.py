from .selectors import notification_unread_count


def unread_count(request) -> dict:
    """`notifications_unread_count` for the bell in base.html: one query, only for members signed in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notifications_unread_count": 0}
    return {"notifications_unread_count": notification_unread_count(member=user)}
