"""Orphaned accounts data (seed section 4C; see bloom/orphans.py)."""

from django.db.models import Q
from django.utils import timezone

from bloom.orphans import OrphanCheck

from .models import AdminSession, User
from .services import member_records_ensure


def _users_missing_records():
    return User.objects.filter(Q(profile__isnull=True) | Q(preferences__isnull=True))


def _ensure_records(queryset) -> int:
    count = 0
    for user in queryset:
        member_records_ensure(user=user)
        count += 1
    return count


def _sessions_of_former_staff():
    return AdminSession.objects.filter(ended_at__isnull=True).filter(
        Q(admin_user__user__is_staff=False) | Q(admin_user__user__is_active=False)
    )


def _end_sessions(queryset) -> int:
    return queryset.update(ended_at=timezone.now())


CHECKS = [
    OrphanCheck(
        name="users without a profile or preferences row",
        find=_users_missing_records,
        fix=_ensure_records,
        fix_description="create the missing rows (member_records_ensure)",
    ),
    OrphanCheck(
        name="open admin sessions of users who are no longer active staff",
        find=_sessions_of_former_staff,
        fix=_end_sessions,
        fix_description="set ended_at",
    ),
]
