"""The dashboard panels accounts itself contributes."""

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


def _account_context(member) -> dict:
    return {"achievements": list(member.achievements.order_by("-awarded_at")[:3])}


def _care_context(member) -> dict:
    suggestions = care_assignment_list_for_member(member=member)
    if not suggestions:
        return {"hidden": True}  # no panel for members her therapist has suggested nothing to
    return {"suggestions": suggestions, "shared": care_progress_shared_get(member=member)}


def register() -> None:
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
