"""The dashboard panels accounts itself contributes."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from bloom.cache import kept
from notifications.selectors import notification_list_for_member

from .dashboard import DashboardPanel, register_panel
from .selectors import (
    care_assignment_list_for_member,
    care_progress_shared_get,
    consistency_get,
    profile_get_for_member,
    screening_due_list_for_member,
    wellness_entry_list_for_member,
)


def _wellness_context(member) -> dict:
    entries = wellness_entry_list_for_member(member=member, limit=3)
    return {"entries": entries, "consistency": consistency_get(member=member)}


def _screening_context(member) -> dict:
    profile = profile_get_for_member(member=member)
    return {"due": screening_due_list_for_member(member=member, profile=profile) if profile else []}


def _notifications_context(member) -> dict:
    # notifications sits below accounts, so accounts shows its notices on the dashboard.
    return {"notifications": notification_list_for_member(member=member, limit=3)}


ACHIEVEMENTS_KEY = "accounts:achievements:v1:{user_id}"


def _account_context(member) -> dict:
    # Awarded a few times in a membership: kept, and dropped when one is added or removed.
    return {
        "achievements": kept(
            ACHIEVEMENTS_KEY.format(user_id=member.pk),
            lambda: list(member.achievements.order_by("-awarded_at")[:3]),
            600,
        )
    }


def _achievements_forget(sender, instance, **kwargs) -> None:
    cache.delete(ACHIEVEMENTS_KEY.format(user_id=instance.user_id))


def _care_context(member) -> dict:
    suggestions = care_assignment_list_for_member(member=member)
    if not suggestions:
        return {"hidden": True}  # no panel for members her therapist has suggested nothing to
    return {"suggestions": suggestions, "shared": care_progress_shared_get(member=member)}


def register() -> None:
    from .activity import activity_models_watch
    from .models import ScreeningResponse, UserAchievement, WellnessEntry

    post_save.connect(_achievements_forget, sender=UserAchievement, dispatch_uid="achievements_saved")
    post_delete.connect(_achievements_forget, sender=UserAchievement, dispatch_uid="achievements_deleted")
    # Check-ins and screenings are accounts' own days (consistency_get reads them itself).
    activity_models_watch(WellnessEntry, ScreeningResponse)
    register_panel(
        DashboardPanel(
            key="care",
            title="From your therapist",
            order=5,
            template="accounts/_care_panel.html",
            context=_care_context,
        )
    )
    register_panel(
        DashboardPanel(
            key="wellness",
            title="Wellness",
            order=50,
            template="accounts/_wellness_panel.html",
            context=_wellness_context,
        )
    )
    register_panel(
        DashboardPanel(
            key="screening",
            title="Screening",
            order=55,
            template="accounts/_screening_panel.html",
            context=_screening_context,
        )
    )
    register_panel(
        DashboardPanel(
            key="notifications",
            title="Notifications",
            order=60,
            template="accounts/_notifications_panel.html",
            context=_notifications_context,
        )
    )
    register_panel(
        DashboardPanel(
            key="account",
            title="Your account",
            order=90,
            template="accounts/_account_panel.html",
            context=_account_context,
        )
    )
