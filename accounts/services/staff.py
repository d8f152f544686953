"""Staff: admin users, roles and their permissions, admin sessions, the audit trail."""

from __future__ import annotations

import datetime
import json

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from bloom.audit import audit_read_record
from bloom.http import client_ip

from ..models import (
    AdminAction,
    AdminActivityLog,
    AdminRole,
    AdminRolePermission,
    AdminSession,
    AdminUser,
    User,
)


def admin_user_ensure(*, user: User) -> AdminUser:
    """The staff member's `admin_users` row, created on first need. Idempotent."""
    admin_user, _ = AdminUser.objects.get_or_create(
        user=user, defaults={"display_name": user.get_full_name()[:150] or user.email}
    )
    return admin_user


def admin_two_factor_sync(*, user: User) -> None:
    """Keep `admin_users.two_factor_enabled` equal to whether the user has an authenticator."""
    from allauth.mfa.models import Authenticator

    enabled = Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()
    AdminUser.objects.filter(user=user).exclude(two_factor_enabled=enabled).update(
        two_factor_enabled=enabled, updated_at=timezone.now()
    )


def admin_password_changed(*, user: User) -> None:
    """Stamp `admin_users.last_password_change` (password changed, set or reset)."""
    now = timezone.now()
    AdminUser.objects.filter(user=user).update(last_password_change=now, updated_at=now)


def admin_session_start(*, user: User, request) -> AdminSession | None:
    """Open an `admin_sessions` row when staff sign in; members get none."""
    if not user.is_staff:
        return None
    admin_user = admin_user_ensure(user=user)
    now = timezone.now()
    AdminUser.objects.filter(pk=admin_user.pk).update(last_login_at=now)
    return AdminSession.objects.create(
        admin_user=admin_user,
        session_key=request.session.session_key or "",
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        created_at=now,
        last_seen_at=now,
    )


def admin_session_touch(*, request, every: datetime.timedelta = datetime.timedelta(minutes=1)) -> int:
    """Move the open session's `last_seen_at` forward, at most once a minute (one UPDATE)."""
    key = request.session.session_key
    if not key:
        return 0
    now = timezone.now()
    return AdminSession.objects.filter(
        session_key=key, ended_at__isnull=True, admin_user__user=request.user, last_seen_at__lt=now - every
    ).update(last_seen_at=now)


def admin_session_end(*, user: User, request) -> int:
    """Close the staff member's session row at logout."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if not key or user is None:
        return 0
    return AdminSession.objects.filter(session_key=key, admin_user__user=user, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )


_LOG_ACTIONS = {ADDITION: AdminAction.ADD, CHANGE: AdminAction.CHANGE, DELETION: AdminAction.DELETE}


def admin_activity_mirror(*, user: User, since: datetime.datetime, request=None) -> int:
    """Copy the admin's LogEntry rows written since `since` into `admin_activity_log`.

    Covers every ModelAdmin add/change/delete of every app, including bulk deletions
    (which Django writes with bulk_create, so no signal fires). Idempotent: the unique
    `log_entry` column makes a second mirror of the same entry a no-op.
    """
    entries = list(
        LogEntry.objects.filter(user=user, action_time__gte=since).select_related("content_type").order_by("pk")
    )
    if not entries:
        return 0
    admin_user = AdminUser.objects.filter(user=user).first()
    rows = []
    for entry in entries:
        try:
            changes = json.loads(entry.change_message) if entry.change_message else []
        except ValueError:
            changes = [entry.change_message]
        ct = entry.content_type
        rows.append(
            AdminActivityLog(
                admin_user=admin_user,
                user=user,
                action=_LOG_ACTIONS.get(entry.action_flag, AdminAction.CHANGE),
                object_type=f"{ct.app_label}.{ct.model}" if ct else "",
                object_id=(entry.object_id or "")[:64],
                object_repr=entry.object_repr[:200],
                changes={"message": changes},
                ip_address=client_ip(request),
                log_entry=entry,
                created_at=entry.action_time,
            )
        )
    created = AdminActivityLog.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def health_read_record(*, staff_user: User, obj: Model, request=None) -> AdminActivityLog:
    """Write the audit row for a staff member reading a piece of health information.

    Other apps call this wherever staff see encrypted health fields (session notes,
    wellness notes, intake answers). Always writes one row; never skipped, and one READ row
    in the audit trail (bloom/audit.py).
    """
    audit_read_record(obj=obj, request=request, user=staff_user)
    meta = obj._meta
    return AdminActivityLog.objects.create(
        admin_user=AdminUser.objects.filter(user=staff_user).first(),
        user=staff_user,
        action=AdminAction.VIEW_HEALTH,
        object_type=f"{meta.app_label}.{meta.model_name}",
        object_id=str(obj.pk)[:64],
        object_repr=str(obj)[:200],
        changes={},
        ip_address=client_ip(request),
    )


@transaction.atomic
def role_permissions_sync(*, role: AdminRole) -> int:
    """Make the role's Django group hold exactly the permissions listed in `admin_role_permissions`."""
    permission_ids = list(role.role_permissions.values_list("permission_id", flat=True))
    role.group.permissions.set(permission_ids)
    return len(permission_ids)


@transaction.atomic
def role_permissions_set(*, role: AdminRole, permissions) -> int:
    """Replace the role's permissions with `permissions` and sync its group."""
    wanted = {p.pk for p in permissions}
    role.role_permissions.exclude(permission_id__in=wanted).delete()
    existing = set(role.role_permissions.values_list("permission_id", flat=True))
    AdminRolePermission.objects.bulk_create(
        [AdminRolePermission(role=role, permission_id=pk) for pk in wanted - existing], ignore_conflicts=True
    )
    return role_permissions_sync(role=role)


@transaction.atomic
def admin_user_role_set(*, admin_user: AdminUser, role: AdminRole | None) -> AdminUser:
    """Give a staff member a role: the user joins the role's group and leaves other role groups."""
    admin_user.role = role
    admin_user.save(update_fields=["role", "updated_at"])
    role_groups = AdminRole.objects.values_list("group_id", flat=True)
    admin_user.user.groups.remove(*role_groups)
    if role is not None:
        admin_user.user.groups.add(role.group_id)
    return admin_user
