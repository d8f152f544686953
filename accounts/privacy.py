"""Accounts' part of the personal-data registry (bloom/privacy.py; docs/adr/0320), registered
from AccountsConfig.ready(). Also the framework tables accounts stands behind: allauth's
addresses, MFA authenticators, Django's sessions and admin log."""

from __future__ import annotations

import uuid

from django.utils import timezone

from bloom.privacy import (
    MENTIONS,
    SELF,
    Erase,
    PersonalDataEntry,
    privacy_not_personal,
    privacy_register,
    privacy_register_cache_keys,
)

HIPAA_RETENTION = (
    "Clinical record: HIPAA 45 CFR 164.316(b)(2) and state law keep it six years; "
    "kept on the anonymous account without her contact details."
)
STAFF_ONLY = "Describes staff and their roles, not members; staff data is handled at offboarding."


def _user_erase(*, member, rows) -> None:
    # The row stays for the payment and clinical records that must point at someone.
    member.email = f"deleted-{uuid.uuid4().hex}@deleted.invalid"
    member.first_name = ""
    member.last_name = ""
    member.is_active = False
    member.set_unusable_password()
    member.save(update_fields=["email", "first_name", "last_name", "is_active", "password"])


def _sessions(*, member, email):
    from django.contrib.sessions.models import Session

    live = Session.objects.filter(expire_date__gt=timezone.now())
    hers = [s.pk for s in live.iterator() if s.get_decoded().get("_auth_user_id") == str(member.pk)]
    return Session.objects.filter(pk__in=hers)


def _rate_limit_keys(*, member) -> list[str]:
    """allauth's rate-limit counters about her: per address (sign-in failures, confirmation and
    reset emails, sign-in codes) and per account (MFA failures, password changes)."""
    from urllib.parse import urlsplit

    from allauth.core.internal import ratelimit
    from django.conf import settings

    email = member.email.lower()
    hosts = {host for host in settings.ALLOWED_HOSTS if "*" not in host and not host.startswith(".")}
    hosts.add(urlsplit(settings.SITE_URL).netloc)
    by_key = {
        "login_failed": [f"{host}:{email}" for host in sorted(hosts)] + [f"mfa-auth-user-{member.pk}"],
        "confirm_email": [email],
        "reset_password": [email],
        "request_login_code": [email],
    }
    keys = []
    for action in (*by_key, "change_password", "reauthenticate"):
        for rate in ratelimit.get_rates(app="allauth.account", action=action):
            common = {"app": "allauth.account", "action": action, "rate": rate}
            if rate.per == "key":
                keys += [ratelimit.get_cache_key(None, key=value, **common) for value in by_key.get(action, [])]
            elif rate.per == "user":
                keys.append(ratelimit.get_cache_key(None, user=member, **common))
    return keys


def register() -> None:
    privacy_register_cache_keys(_rate_limit_keys)
    user = ("user",)
    privacy_register(
        PersonalDataEntry(
            "accounts.User",
            (SELF,),
            Erase.ANONYMISE,
            erase_rows=_user_erase,
            private=("password",),
            order=100,
        ),
        PersonalDataEntry(
            "accounts.UserProfile",
            user,
            Erase.ANONYMISE,
            scrub={
                "first_name": "",
                "last_name": "",
                "preferred_name": "",
                "phone": "",
                "due_date": None,
                "baby_birth_date": None,
                "topics": [],
                "referral_source": None,
                "marketing_consent": False,
            },
        ),
        PersonalDataEntry(
            "accounts.UserPreferences",
            user,
            Erase.ANONYMISE,
            scrub={"newsletter": False, "notification_channel": "portal"},
        ),
        PersonalDataEntry("accounts.UserAchievement", user, Erase.DELETE),
        PersonalDataEntry("accounts.WellnessEntry", user, Erase.DELETE),
        PersonalDataEntry("accounts.ScreeningResponse", user, Erase.DELETE),
        PersonalDataEntry("accounts.MemberScreeningPoint", user, Erase.DELETE),
        PersonalDataEntry("accounts.MemberPause", user, Erase.DELETE),  # why she paused is health data
        PersonalDataEntry("accounts.CalendarFeed", user, Erase.DELETE, private=("token_hash",)),
        PersonalDataEntry(
            "accounts.RiskAlert", user, Erase.KEEP_PSEUDONYMISED, reason="The care team's response. " + HIPAA_RETENTION
        ),
        PersonalDataEntry(
            "accounts.CareAssignment", user, Erase.KEEP_PSEUDONYMISED, reason="Who cared for her. " + HIPAA_RETENTION
        ),
        PersonalDataEntry(
            "accounts.ConsentRecord",
            user,
            Erase.KEEP_PSEUDONYMISED,
            reason="GDPR Art. 7(1): we must be able to show what she consented to and when.",
            scrub={"user_agent": "", "ip_address": None},
        ),
        PersonalDataEntry(
            "accounts.DataRequest",
            user,
            Erase.KEEP_PSEUDONYMISED,
            reason="GDPR Art. 5(2) accountability: the record that her request was received and carried out.",
            scrub={"export_data": None},
            private=("export_data",),
        ),
        PersonalDataEntry(
            "accounts.SecurityEvent",
            (*user, MENTIONS),
            Erase.KEEP_PSEUDONYMISED,
            reason="GDPR Art. 32 security logging; purged by retention after its period.",
            scrub={"user_agent": ""},
        ),
        PersonalDataEntry(
            "accounts.AdminActivityLog",
            (MENTIONS,),
            Erase.KEEP_PSEUDONYMISED,
            reason="HIPAA 45 CFR 164.312(b) audit controls: staff actions are kept; mentions of her are redacted.",
        ),
        # Framework tables.
        PersonalDataEntry(
            "account.EmailConfirmation", ("email_address__user",), Erase.DELETE, private=("key",), order=40
        ),
        PersonalDataEntry("account.EmailAddress", user, Erase.DELETE),
        PersonalDataEntry("mfa.Authenticator", user, Erase.DELETE, private=("data",)),
        PersonalDataEntry("sessions.Session", (), Erase.DELETE, find=_sessions, private=("session_data",)),
        PersonalDataEntry(
            "admin.LogEntry",
            (MENTIONS,),
            Erase.KEEP_PSEUDONYMISED,
            reason="HIPAA 45 CFR 164.312(b) audit controls: staff changes stay; her email and name are redacted.",
        ),
    )
    for model in ("accounts.AdminUser", "accounts.AdminSession", "accounts.AdminRole", "accounts.StaffInvitation"):
        privacy_not_personal(model, STAFF_ONLY)
    privacy_not_personal("accounts.ScreeningSchedulePoint", "Questionnaire schedule set by staff.")
    privacy_not_personal("auth.Group", "Permission groups.")
    privacy_not_personal("auth.Permission", "Permission names.")
    privacy_not_personal("django_celery_beat.PeriodicTask", "Scheduled task definitions.")
