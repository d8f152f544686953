"""Writes for accounts, one module per sub-domain; import the package: `from accounts import services`.

members        the records every account has, sign-up, addresses, consent, profile, preferences
onboarding     onboarding steps and achievements
wellness       wellness check-ins
pauses         "life happened" pauses: start, end early, what they shift
care           content a clinician suggests, and her choice to share progress on it
data_requests  a member's export or deletion, carried out by staff
staff          admin users, roles, admin sessions, the audit trail
invitations    the owner's invitation of a colleague with a role (staff onboarding)
security       security events, refused sign-ins and the alert once per burst
screening      questionnaires on the perinatal timeline and crisis routing (docs/adr/0100-0104)
"""

from .care import care_assignment_archive, care_assignment_create, care_progress_share_set
from .data_requests import (
    data_request_audit,
    data_request_create,
    data_request_deadline,
    data_request_farewells_scrub,
    data_request_process,
    data_request_reject,
    data_request_reminders_send,
    member_anonymize,
)
from .invitations import (
    InvitationRefused,
    staff_invitation_accept,
    staff_invitation_create,
    staff_invitation_for_token,
    staff_invitation_resend,
    staff_invitation_revoke,
)
from .members import (
    PREFERENCE_FIELDS,
    consent_record,
    member_email_changed,
    member_email_verified,
    member_records_ensure,
    member_signup_complete,
    preferences_update,
    profile_update,
)
from .onboarding import (
    ONBOARDING_STEPS,
    WELCOME_ACHIEVEMENT,
    achievement_award,
    onboarding_complete,
    onboarding_step_save,
)
from .pauses import PAUSE_WEEKS, member_pause_end, member_pause_start, register_pause_shift_handler
from .screening import (
    ESCALATION_PREFIX,
    RISK_ALERT_SUBJECTS,
    SCREENING_REMINDER_TITLE,
    risk_alert_acknowledge,
    risk_alert_raise,
    risk_alerts_escalate,
    risk_text_review,
    screening_point_skip,
    screening_reminders_send,
    screening_share_set,
    screening_submit,
)
from .security import (
    SIGN_IN_BURST,
    SIGN_IN_FAILURES,
    security_event_record,
    sign_in_burst_alert,
    sign_in_failure_record,
)
from .staff import (
    admin_activity_mirror,
    admin_password_changed,
    admin_session_end,
    admin_session_start,
    admin_session_touch,
    admin_two_factor_sync,
    admin_user_ensure,
    admin_user_role_set,
    health_read_record,
    role_permissions_set,
    role_permissions_sync,
)
from .wellness import WELLNESS_EDIT_DAYS, wellness_day_check, wellness_entry_record, wellness_share_set

__all__ = [
    "InvitationRefused",
    "staff_invitation_accept",
    "staff_invitation_create",
    "staff_invitation_for_token",
    "staff_invitation_resend",
    "staff_invitation_revoke",
    "care_assignment_archive",
    "care_assignment_create",
    "care_progress_share_set",
    "PAUSE_WEEKS",
    "member_pause_end",
    "member_pause_start",
    "register_pause_shift_handler",
    "ESCALATION_PREFIX",
    "ONBOARDING_STEPS",
    "PREFERENCE_FIELDS",
    "RISK_ALERT_SUBJECTS",
    "SCREENING_REMINDER_TITLE",
    "SIGN_IN_BURST",
    "SIGN_IN_FAILURES",
    "WELCOME_ACHIEVEMENT",
    "achievement_award",
    "admin_activity_mirror",
    "admin_password_changed",
    "admin_session_end",
    "admin_session_start",
    "admin_session_touch",
    "admin_two_factor_sync",
    "admin_user_ensure",
    "admin_user_role_set",
    "consent_record",
    "data_request_audit",
    "data_request_create",
    "data_request_deadline",
    "data_request_farewells_scrub",
    "data_request_process",
    "data_request_reject",
    "data_request_reminders_send",
    "health_read_record",
    "member_anonymize",
    "member_email_changed",
    "member_email_verified",
    "member_records_ensure",
    "member_signup_complete",
    "onboarding_complete",
    "onboarding_step_save",
    "preferences_update",
    "profile_update",
    "risk_alert_acknowledge",
    "risk_alert_raise",
    "risk_alerts_escalate",
    "risk_text_review",
    "role_permissions_set",
    "role_permissions_sync",
    "screening_point_skip",
    "screening_reminders_send",
    "screening_share_set",
    "screening_submit",
    "security_event_record",
    "sign_in_burst_alert",
    "sign_in_failure_record",
    "WELLNESS_EDIT_DAYS",
    "wellness_day_check",
    "wellness_entry_record",
    "wellness_share_set",
]
