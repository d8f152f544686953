from .selectors import notification_unread_count


def unread_count(request) -> dict:
    """`notifications_unread_count` for the bell in base.html, only for members signed in: kept in the
    cache between her notices' changes (`selectors.notification_unread_count`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notifications_unread_count": 0}
    return {"notifications_unread_count": notification_unread_count(member=user)}
