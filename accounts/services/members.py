"""Members: the records every account has, sign-up, verified and changed addresses, consent, profile and preferences."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notifications import services as notifications_services

from ..consent import MARKETING_PURPOSE
from ..models import (
    PREFERENCE_FIELDS,
    PROFILE_FIELDS,
    ConsentKind,
    SecurityEvent,
    User,
    UserPreferences,
    UserProfile,
)
from ..selectors.members import consent_switch_get
from .consent import consent_record, marketing_consent_set, policies_agree
from .security import security_event_record


def _sequence_trigger(*, trigger: str, user: User) -> None:
    """Tell notifications a member reached a milestone that may start an email sequence
    (in the caller's transaction)."""
    notifications_services.sequence_trigger(
        trigger=trigger, email=user.email, user=user, context={"first_name": user.first_name}
    )


@transaction.atomic
def member_records_ensure(
    *, user: User, referral_source: str | None = None, marketing_consent: bool | None = None
) -> UserProfile:
    """Create the user's `user_profiles` and `user_preferences` rows once (the seed's trigger).

    Idempotent: a retried sign-up finds the existing rows (one-to-one unique keys guard
    against a race) and only fills values it was given.
    """
    profile, _ = UserProfile.objects.get_or_create(user=user, defaults={"marketing_consent": False})
    preferences, _ = UserPreferences.objects.get_or_create(user=user)
    changed = []
    if referral_source:
        profile.referral_source = referral_source.strip()[:200]
        changed.append("referral_source")
    if marketing_consent is not None:
        profile.marketing_consent = marketing_consent
        changed.append("marketing_consent")
        if preferences.newsletter != marketing_consent:
            preferences.newsletter = marketing_consent
            preferences.save(update_fields=["newsletter", "updated_at"])
    if changed:
        profile.save(update_fields=[*changed, "updated_at"])
    user.profile = profile  # callers reading user.profile next (consent checks) see these values
    return profile


@transaction.atomic
def member_signup_complete(
    *, user: User, referral_source: str | None, marketing_consent: bool, request=None
) -> UserProfile:
    """Finish a new member's sign-up in the sign-up transaction.

    Creates profile and preferences (once), records in `consent_records` her agreement to
    the terms and the privacy notice (their current versions) and her marketing choice,
    and fires the "member_signed_up" sequence trigger.
    """
    profile = member_records_ensure(user=user, referral_source=referral_source, marketing_consent=marketing_consent)
    policies_agree(member=user, source="signup", request=request)
    consent_record(
        user=user,
        kind=ConsentKind.MARKETING,
        granted=marketing_consent,
        source="signup",
        request=request,
        purpose=MARKETING_PURPOSE,
    )
    _sequence_trigger(trigger="member_signed_up", user=user)
    return profile


@transaction.atomic
def member_email_verified(*, user: User, email: str) -> None:
    """Mirror allauth's confirmation of the user's primary address onto `user_profiles`.

    Idempotent: the first confirmation time is kept and the "email_verified" sequence
    trigger fires only on the first confirmation.
    """
    if email.lower() != user.email.lower():
        return
    profile = member_records_ensure(user=user)
    updated = (
        UserProfile.objects.filter(pk=profile.pk)
        .exclude(email_verified=True)
        .update(email_verified=True, email_verified_at=timezone.now())
    )
    if updated:
        _sequence_trigger(trigger="email_verified", user=user)


@transaction.atomic
def member_email_changed(*, user: User, email: str, request=None) -> None:
    """The member confirmed a new address that replaced the old one (allauth's email change).

    `user_profiles.email_verified_at` becomes the time the address now in use was confirmed;
    the "email_verified" sequence trigger does not fire again. Writes a security event.
    """
    if email.lower() != user.email.lower():
        return
    profile = member_records_ensure(user=user)
    UserProfile.objects.filter(pk=profile.pk).update(
        email_verified=True, email_verified_at=timezone.now(), updated_at=timezone.now()
    )
    security_event_record(event_type="email_changed", severity=SecurityEvent.Severity.INFO, request=request, user=user)


@transaction.atomic
def profile_update(*, member: User, data: dict) -> UserProfile:
    """Write the given profile fields (validated by the form); keeps users.first/last_name in step."""
    profile = UserProfile.objects.select_for_update().get(user=member)
    fields = [name for name in PROFILE_FIELDS if name in data]
    for name in fields:
        setattr(profile, name, data[name])
    if "stage" in data:
        if profile.stage != "pregnant":
            profile.due_date = None
        if profile.stage != "postpartum":
            profile.baby_birth_date = None
        fields = sorted({*fields, "due_date", "baby_birth_date"})
    if fields:
        profile.save(update_fields=[*fields, "updated_at"])
    user_fields = [name for name in ("first_name", "last_name") if name in data and getattr(member, name) != data[name]]
    for name in user_fields:
        setattr(member, name, data[name])
    if user_fields:
        member.save(update_fields=user_fields)
    return profile


@transaction.atomic
def preferences_update(*, member: User, data: dict, source: str = "preferences", request=None) -> UserPreferences:
    """Write the member's notification preferences.

    The newsletter choice is the member's marketing consent: a change goes through
    `marketing_consent_set` (a consent record, the profile mirror; a withdrawal also
    unsubscribes her newsletter address).
    """
    preferences = UserPreferences.objects.select_for_update().get(user=member)
    previous_newsletter = preferences.newsletter
    fields = [name for name in PREFERENCE_FIELDS if name in data]
    for name in fields:
        setattr(preferences, name, data[name])
    if fields:
        preferences.save(update_fields=[*fields, "updated_at"])
    if "newsletter" in data and bool(data["newsletter"]) != previous_newsletter:
        marketing_consent_set(email=member.email, granted=bool(data["newsletter"]), source=source, request=request)
    return preferences


def consent_switch_set(*, member: User, source: str, granted: bool, request=None) -> bool:
    """Turn a health-data consent switch (`source`) on or off for her.

    Each change appends a consent record, which is the switch itself (the newest record from
    `source` decides); her user row is locked so two changes never interleave. Setting the
    choice she already has writes nothing. Returns whether anything changed.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=member.pk).first()
        if consent_switch_get(member=member, source=source) == granted:
            return False
        consent_record(user=member, kind=ConsentKind.HEALTH_DATA, granted=granted, source=source, request=request)
    return True
