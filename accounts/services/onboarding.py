"""Onboarding steps and achievements."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bloom.exceptions import ApplicationError

from ..models import (
    User,
    UserAchievement,
    UserProfile,
)
from .members import preferences_update, profile_update

WELCOME_ACHIEVEMENT = ("welcome", "Completed onboarding", "You finished setting up your Bloom account.")
ONBOARDING_STEPS = 4


@transaction.atomic
def onboarding_step_save(*, member: User, step: int, data: dict, request=None) -> UserProfile:
    """Save one onboarding step (1-4) and remember how far the member got.

    `onboarding_step` only moves forward, so going back to fix step 1 keeps the progress.
    Saving step 4 completes onboarding (see `onboarding_complete`).
    """
    if not 1 <= step <= ONBOARDING_STEPS:
        raise ApplicationError("That onboarding step does not exist.")
    if step == ONBOARDING_STEPS:
        preferences_update(member=member, data=data, source="onboarding", request=request)
    else:
        profile_update(member=member, data=data)
    profile = UserProfile.objects.select_for_update().get(user=member)
    if profile.onboarding_step < step:
        profile.onboarding_step = step
        profile.save(update_fields=["onboarding_step", "updated_at"])
    if step == ONBOARDING_STEPS:
        profile = onboarding_complete(member=member)
    return profile


@transaction.atomic
def onboarding_complete(*, member: User) -> UserProfile:
    """Mark onboarding finished and award the "welcome" achievement. Idempotent."""
    profile = UserProfile.objects.select_for_update().get(user=member)
    if not profile.onboarding_completed:
        profile.onboarding_completed = True
        profile.onboarding_completed_at = timezone.now()
        profile.onboarding_step = ONBOARDING_STEPS
        profile.save(update_fields=["onboarding_completed", "onboarding_completed_at", "onboarding_step", "updated_at"])
    key, title, description = WELCOME_ACHIEVEMENT
    achievement_award(user=member, key=key, title=title, description=description)
    return profile


def achievement_award(*, user: User, key: str, title: str, description: str = "") -> tuple[UserAchievement, bool]:
    """Award an achievement once; returns (row, created). The (user, key) unique key guards races."""
    return UserAchievement.objects.get_or_create(
        user=user, key=key, defaults={"title": title, "description": description}
    )
