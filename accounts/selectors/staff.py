"""Reads about staff: who holds a role, who is alerted."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from ..models import User


def staff_owner_list() -> list[User]:
    """Active staff with the owner role, and superusers, by email (one query)."""
    return list(
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(admin_user__role__slug="owner") | Q(is_superuser=True))
        .order_by("email")
        .distinct()
    )


def staff_on_call_list() -> list[User]:
    """Active staff whose active admin record has the on-call role, by email (one query)."""
    return list(
        User.objects.filter(
            is_active=True, is_staff=True, admin_user__is_active=True, admin_user__role__slug="on_call"
        ).order_by("email")
    )


def security_alert_recipient_list() -> list[str]:
    """Who hears about attacks on sign-in: the owners (`staff_owner_list`), or the care-team
    inbox (BLOOM_STAFF_ALERT_EMAIL) when there is none."""
    return [user.email for user in staff_owner_list()] or [settings.BLOOM_STAFF_ALERT_EMAIL]
