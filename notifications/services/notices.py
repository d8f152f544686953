"""In-portal notices: writing one (and its email) and marking notices read."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.urls import reverse
from django.utils import timezone

from bloom.links import absolute_url

from ..models import EmailCategory, UserNotification
from ..selectors import UNREAD_COUNT_KEY
from .outbox import _json_safe, email_enqueue

DEFAULT_NOTICE_TEMPLATE = "notifications/notice"


def _wants_email(member) -> bool:
    try:
        return bool(member.preferences.wants_email)
    except ObjectDoesNotExist:
        return True


def notification_create(
    *,
    member,
    type: str,  # noqa: A002 - the seed's column name, part of the shared interface
    title: str,
    message: str = "",
    data: dict | None = None,
    email_template: str | None = None,
    email_context: dict | None = None,
    category: str = EmailCategory.TRANSACTIONAL,
    email: bool = True,
    email_attachments: list[tuple[str, str | bytes, str]] | None = None,
) -> UserNotification:
    """Write a portal notice and, when the member's preferences say so, queue the same by email.

    The email (template `email_template`, else notifications/notice) is keyed on the notice,
    so it is queued at most once; the whole call is one transaction. `email=False` writes the
    notice only, for callers that queue their own mail (a risk alert mails at high priority,
    whatever the recipient's preferences). `email_attachments` go with the email (email_enqueue).
    """
    with transaction.atomic():
        notification = UserNotification.objects.create(
            user=member, type=type, title=title, message=message, data=_json_safe(data)
        )
        if email and _wants_email(member):
            email_enqueue(
                to=member.email,
                user=member,
                template=email_template or DEFAULT_NOTICE_TEMPLATE,
                context={
                    "title": title,
                    "message": message,
                    "notification_type": type,
                    "notifications_url": absolute_url(reverse("notifications:notification_list")),
                    **(email_context or {}),
                },
                category=category,
                idempotency_key=f"notify:{notification.pk}",
                attachments=email_attachments,
            )
    return notification


def notification_mark_read(*, member, notification_id) -> UserNotification:
    """Mark one of the member's notices read; another member's notice raises DoesNotExist."""
    notification = UserNotification.objects.get(pk=notification_id, user=member)
    if not notification.read:
        notification.read, notification.read_at = True, timezone.now()
        notification.save(update_fields=["read", "read_at"])
    return notification


def notification_mark_all_read(*, member) -> int:
    marked = UserNotification.objects.filter(user=member, read=False).update(read=True, read_at=timezone.now())
    unread_count_forget(user_id=member.pk)  # an update sends no post_save
    return marked


def unread_count_forget(*, user_id) -> None:
    """Drop her bell's kept unread count (`selectors.notification_unread_count`) now and again
    after the commit, so a page read between the two cannot keep the count from before it."""
    key = UNREAD_COUNT_KEY.format(user_id=user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _unread_count_forget(sender, instance, **kwargs) -> None:
    unread_count_forget(user_id=instance.user_id)


def unread_count_watch() -> None:
    """Every notice written, read or deleted through the ORM drops its member's kept count."""
    post_save.connect(_unread_count_forget, sender=UserNotification, dispatch_uid="notification_saved")
    post_delete.connect(_unread_count_forget, sender=UserNotification, dispatch_uid="notification_deleted")
