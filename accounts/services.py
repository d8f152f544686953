"""Writes for accounts: members, profiles, verification, security records."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SecurityEvent, User, UserPreferences, UserProfile


@transaction.atomic
def member_records_ensure(
    *, user: User, referral_source: str | None = None, marketing_consent: bool | None = None
) -> UserProfile:
    """Create the user's `user_profiles` and `user_preferences` rows once (the seed's trigger).

    Idempotent: a retried sign-up finds the existing rows (one-to-one unique keys guard
    against a race) and only fills values it was given.
    """
    profile, _ = UserProfile.objects.get_or_create(user=user, defaults={"marketing_consent": False})
    UserPreferences.objects.get_or_create(user=user)
    changed = []
    if referral_source:
        profile.referral_source = referral_source.strip()[:200]
        changed.append("referral_source")
    if marketing_consent is not None:
        profile.marketing_consent = marketing_consent
        changed.append("marketing_consent")
    if changed:
        profile.save(update_fields=[*changed, "updated_at"])
    return profile


def member_email_verified(*, user: User, email: str) -> None:
    """Mirror allauth's confirmation of the user's primary address onto `user_profiles`.

    Idempotent: the first confirmation time is kept.
    """
    if email.lower() != user.email.lower():
        return
    profile = member_records_ensure(user=user)
    if not profile.email_verified:
        UserProfile.objects.filter(pk=profile.pk, email_verified=False).update(
            email_verified=True, email_verified_at=timezone.now()
        )


def security_event_record(
    *,
    event_type: str,
    severity: str = SecurityEvent.Severity.WARNING,
    request=None,
    user: User | None = None,
    details: dict | None = None,
) -> SecurityEvent | None:
    """Write a security log row; never raises into the caller (logging must not break a request)."""
    meta = getattr(request, "META", {}) if request is not None else {}
    try:
        return SecurityEvent.objects.create(
            event_type=event_type,
            severity=severity,
            user=user if user is not None and user.is_authenticated else None,
            ip_address=meta.get("REMOTE_ADDR") or None,
            user_agent=meta.get("HTTP_USER_AGENT", "")[:500],
            path=getattr(request, "path", "")[:500],
            details=details or {},
        )
    except IntegrityError:
        return None
