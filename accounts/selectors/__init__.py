"""Reads for accounts, one module per sub-domain; import the package: `from accounts import selectors`.

members    profile, preferences, wellness, achievements, data requests, the member's export
pauses     "life happened" pauses and the dates they shift
consistency  the weeks she showed up (counted, never chained)
care       what a clinician suggested to her, and whether she shares her progress
screening  due questionnaires, responses, the perinatal timeline, crisis routing's recipients
wellness   one day's check-in, weekly averages, sharing with her clinician
staff      owners and on-call staff, who hears about sign-in attacks
"""

from .care import care_assignment_list_for_member, care_assignment_progress_get, care_progress_shared_get
from .consistency import CONSISTENCY_WEEKS, Consistency, consistency_forget, consistency_get
from .members import (
    achievement_list_for_member,
    data_request_export_get_for_member,
    data_request_list_for_member,
    member_data_archive,
    member_data_export,
    member_data_zip,
    preferences_get_for_member,
    profile_get_for_member,
    wellness_entry_list_for_member,
    wellness_entry_today_for_member,
)
from .pauses import (
    member_is_paused,
    member_pause_get_active,
    member_pause_list_for_member,
    members_paused_many,
    pause_shifted,
    paused_members_exist,
)
from .screening import (
    DueScreening,
    care_clinician_get_for_member,
    member_local_date,
    member_today,
    risk_alert_open_exists,
    risk_alert_recipient_list,
    screening_due_list_for_member,
    screening_points_reached,
    screening_response_get_for_member,
    screening_response_get_previous,
    screening_response_list_for_member,
)
from .staff import security_alert_recipient_list, staff_on_call_list, staff_owner_list
from .wellness import (
    WELLNESS_MEASURES,
    WellnessWeek,
    wellness_averages,
    wellness_entry_get_for_member,
    wellness_entry_list_between,
    wellness_entry_staff_queryset,
    wellness_share_active,
    wellness_week_list,
)

__all__ = [
    "CONSISTENCY_WEEKS",
    "Consistency",
    "consistency_forget",
    "consistency_get",
    "care_assignment_list_for_member",
    "care_assignment_progress_get",
    "care_progress_shared_get",
    "WELLNESS_MEASURES",
    "WellnessWeek",
    "wellness_averages",
    "wellness_entry_get_for_member",
    "wellness_entry_list_between",
    "wellness_entry_staff_queryset",
    "wellness_share_active",
    "wellness_week_list",
    "DueScreening",
    "achievement_list_for_member",
    "care_clinician_get_for_member",
    "data_request_export_get_for_member",
    "data_request_list_for_member",
    "member_data_archive",
    "member_data_export",
    "member_data_zip",
    "member_is_paused",
    "members_paused_many",
    "member_pause_get_active",
    "member_pause_list_for_member",
    "member_local_date",
    "member_today",
    "pause_shifted",
    "paused_members_exist",
    "preferences_get_for_member",
    "profile_get_for_member",
    "risk_alert_open_exists",
    "risk_alert_recipient_list",
    "screening_due_list_for_member",
    "screening_points_reached",
    "screening_response_get_for_member",
    "screening_response_get_previous",
    "screening_response_list_for_member",
    "security_alert_recipient_list",
    "staff_on_call_list",
    "staff_owner_list",
    "wellness_entry_list_for_member",
    "wellness_entry_today_for_member",
]
