"""Writes for accounts: members, profiles, onboarding, wellness, consent, staff records."""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from decimal import Decimal
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db import IntegrityError, transaction
from django.db.models import Model, Q
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.http import client_ip
from bloom.links import absolute_url
from notifications import services as notifications_services
from notifications.services import EmailPriority, notify, queue_email

from .models import (
    PROFILE_FIELDS,
    AdminAction,
    AdminActivityLog,
    AdminRole,
    AdminRolePermission,
    AdminSession,
    AdminUser,
    ConsentKind,
    ConsentRecord,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    SecurityEvent,
    User,
    UserAchievement,
    UserPreferences,
    UserProfile,
    WellnessEntry,
)

WELCOME_ACHIEVEMENT = ("welcome", "Completed onboarding", "You finished setting up your Bloom account.")
ONBOARDING_STEPS = 4


def _sequence_trigger(*, trigger: str, user: User) -> None:
    """Tell notifications a member reached a milestone that may start an email sequence
    (in the caller's transaction)."""
    notifications_services.sequence_trigger(
        trigger=trigger, email=user.email, user=user, context={"first_name": user.first_name}
    )


# --- Members -------------------------------------------------------------------------------


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

    Creates profile and preferences (once), records the marketing choice in
    `consent_records` and fires the "member_signed_up" sequence trigger.
    """
    profile = member_records_ensure(user=user, referral_source=referral_source, marketing_consent=marketing_consent)
    consent_record(user=user, kind=ConsentKind.MARKETING, granted=marketing_consent, source="signup", request=request)
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


def consent_record(*, user: User, kind: str, granted: bool, source: str, request=None) -> ConsentRecord:
    """Append one consent row (records are never updated: they are the evidence)."""
    return ConsentRecord.objects.create(
        user=user, kind=kind, granted=granted, source=source[:40], ip_address=client_ip(request)
    )


PREFERENCE_FIELDS = (
    "notification_channel",
    "appointment_reminders",
    "workshop_reminders",
    "course_updates",
    "wellness_reminders",
    "newsletter",
)


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

    The newsletter choice is the member's marketing consent: a change is mirrored onto
    `user_profiles.marketing_consent` and appended to `consent_records`.
    """
    preferences = UserPreferences.objects.select_for_update().get(user=member)
    previous_newsletter = preferences.newsletter
    fields = [name for name in PREFERENCE_FIELDS if name in data]
    for name in fields:
        setattr(preferences, name, data[name])
    if fields:
        preferences.save(update_fields=[*fields, "updated_at"])
    if "newsletter" in data and bool(data["newsletter"]) != previous_newsletter:
        UserProfile.objects.filter(user=member).update(marketing_consent=bool(data["newsletter"]))
        consent_record(
            user=member, kind=ConsentKind.MARKETING, granted=bool(data["newsletter"]), source=source, request=request
        )
    return preferences


# --- Onboarding and achievements ------------------------------------------------------------


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


# --- Wellness -----------------------------------------------------------------------------


def wellness_entry_record(
    *,
    member: User,
    entry_date: datetime.date,
    mood: int,
    sleep_hours: Decimal | None = None,
    anxiety: int | None = None,
    energy: int | None = None,
    notes: str = "",
) -> WellnessEntry:
    """Write the member's check-in for a day; a second save that day replaces the first.

    Notes that read like risk raise a "needs attention" alert in the same transaction
    (screening_services.risk_text_review; the view shows her the crisis resources).
    """
    from .screening_services import risk_text_review

    if entry_date > timezone.localdate():
        raise ApplicationError("A wellness entry cannot be for a future day.")
    with transaction.atomic():
        entry, _ = WellnessEntry.objects.update_or_create(
            user=member,
            entry_date=entry_date,
            defaults={"mood": mood, "sleep_hours": sleep_hours, "anxiety": anxiety, "energy": energy, "notes": notes},
        )
        risk_text_review(member=member, text=notes, source="wellness_note", source_object_id=str(entry.pk))
    return entry


# --- Data requests (export, deletion) -----------------------------------------------------


def data_request_create(*, member: User, kind: str) -> DataRequest:
    """Open an export or deletion request; refuses a second open request of the same kind."""
    try:
        with transaction.atomic():
            return DataRequest.objects.create(user=member, kind=kind)
    except IntegrityError as exc:
        raise ApplicationError("You already have a request of this kind waiting; we will be in touch.") from exc


@transaction.atomic
def data_request_process(*, data_request: DataRequest, staff_user: User) -> DataRequest:
    """Carry out a pending request (staff action).

    Export: stores the member's accounts data as JSON for them to download and sends a
    portal notice (and email, per preferences). Delete: mails the member, then anonymises the account (payment and clinical records other apps must keep stay,
    pointing at an anonymous, inactive user) and removes wellness entries.
    Idempotent: a request that is no longer pending is returned unchanged.
    """
    from .selectors import member_data_export

    request_row = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if request_row.status != DataRequestStatus.PENDING:
        return request_row
    member = request_row.user
    if request_row.kind == DataRequestKind.EXPORT:
        request_row.export_data = member_data_export(member=member)
    else:
        queue_email(
            to=member.email,
            user=member,
            subject="Your Bloom account has been deleted",
            text_body=(
                "As you asked, we have deleted your Bloom account and the personal information it held.\n"
                "Records we must keep by law (payments, clinical records) are kept without your contact details.\n"
            ),
            idempotency_key=f"data-request:{request_row.pk}",
        )
        member_anonymize(member=member)
    request_row.status = DataRequestStatus.COMPLETED
    request_row.completed_at = timezone.now()
    request_row.processed_by = staff_user
    request_row.save(update_fields=["export_data", "status", "completed_at", "processed_by"])
    if request_row.kind == DataRequestKind.EXPORT:
        notify(
            member=member,
            type="data_export_ready",
            title="Your data export is ready",
            message="Download it from Sign-in and security in your account.",
            data={"data_request_id": str(request_row.pk)},
        )
    return request_row


@transaction.atomic
def data_request_reject(*, data_request: DataRequest, staff_user: User, note: str = "") -> DataRequest:
    """Close a pending request without acting on it (e.g. a duplicate)."""
    request_row = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if request_row.status == DataRequestStatus.PENDING:
        request_row.status = DataRequestStatus.REJECTED
        request_row.completed_at = timezone.now()
        request_row.processed_by = staff_user
        request_row.staff_note = note
        request_row.save(update_fields=["status", "completed_at", "processed_by", "staff_note"])
    return request_row


@transaction.atomic
def member_anonymize(*, member: User) -> None:
    """Erase a member's personal data and make the account unusable, keeping the row for
    records other apps must hold (payments, clinical records)."""
    member.email = f"deleted-{uuid.uuid4().hex}@deleted.invalid"
    member.first_name = ""
    member.last_name = ""
    member.is_active = False
    member.set_unusable_password()
    member.save(update_fields=["email", "first_name", "last_name", "is_active", "password"])
    EmailAddress.objects.filter(user=member).delete()
    WellnessEntry.objects.filter(user=member).delete()
    # Her screening answers go too; risk alerts stay, as the record of the care team's response.
    member.screening_points.all().delete()
    member.screening_responses.all().delete()
    UserProfile.objects.filter(user=member).update(
        first_name="",
        last_name="",
        preferred_name="",
        phone="",
        due_date=None,
        baby_birth_date=None,
        topics=[],
        referral_source=None,
        marketing_consent=False,
    )
    UserPreferences.objects.filter(user=member).update(newsletter=False, notification_channel="portal")


# --- Staff: admin users, roles, sessions, audit trail --------------------------------------


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
    wellness notes, intake answers). Always writes one row; never skipped.
    """
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
            ip_address=client_ip(request),
            user_agent=meta.get("HTTP_USER_AGENT", "")[:500],
            path=getattr(request, "path", "")[:500],
            details=details or {},
        )
    except IntegrityError:
        return None


# --- Sign-in security ---------------------------------------------------------------------

# Refused sign-ins: a wrong password, a wrong MFA code, or an attempt the lockout turned away.
SIGN_IN_FAILURES = ("login_failed", "login_locked_out", "mfa_failed", "mfa_locked_out")
SIGN_IN_BURST = "sign_in_burst"


def sign_in_failure_record(
    *, event_type: str, request, login: str, user: User | None = None, details: dict | None = None
) -> SecurityEvent | None:
    """Write one refused sign-in as a Security event and alert the owners if it completes a burst.

    `event_type` is one of SIGN_IN_FAILURES; `login` is the address typed (stored lower-cased,
    so failures for an address without an account are counted too); `user` is the account
    when there is one. The password or code typed is never stored.
    """
    if event_type not in SIGN_IN_FAILURES:
        raise ValueError(f"{event_type!r} is not a sign-in failure")
    event = security_event_record(
        event_type=event_type,
        request=request,
        user=user,
        details={"login": (login or "").strip().lower()[:254], **(details or {})},
    )
    if event is not None:
        sign_in_burst_alert(event=event)
    return event


def security_alert_recipients() -> list[str]:
    """Who hears about attacks on sign-in: active staff with the owner role and superusers,
    or the care-team inbox (BLOOM_STAFF_ALERT_EMAIL) when there is none."""
    emails = (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(admin_user__role__slug="owner") | Q(is_superuser=True))
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return list(emails) or [settings.BLOOM_STAFF_ALERT_EMAIL]


def sign_in_burst_alert(*, event: SecurityEvent) -> int:
    """Alert the owners when refused sign-ins for `event`'s account or for its address reach
    BLOOM_SIGNIN_ALERT_THRESHOLD within BLOOM_SIGNIN_ALERT_WINDOW_MINUTES.

    Once per burst: an account or address named by a `sign_in_burst` event younger than the
    window is not alerted again, and each mail's idempotency key names the burst's first
    failure, so two requests at the same moment cannot both send. A burst that goes on alerts
    again one window later. One alert names every account and address it is about; it writes one
    critical `sign_in_burst` event and queues one mail per recipient (high priority).
    Returns the number of mails queued.
    """
    window = datetime.timedelta(minutes=settings.BLOOM_SIGNIN_ALERT_WINDOW_MINUTES)
    since = event.created_at - window
    failures = SecurityEvent.objects.filter(
        event_type__in=SIGN_IN_FAILURES, created_at__gt=since, created_at__lte=event.created_at
    )
    candidates = []
    if login := event.details.get("login"):
        candidates.append(({"subject": "account", "value": login}, failures.filter(details__login=login)))
    if event.ip_address:
        candidates.append(
            ({"subject": "address", "value": event.ip_address}, failures.filter(ip_address=event.ip_address))
        )
    subjects = []
    for subject, rows in candidates:
        count = rows.count()
        if count < settings.BLOOM_SIGNIN_ALERT_THRESHOLD:
            continue
        alerted = SecurityEvent.objects.filter(
            event_type=SIGN_IN_BURST, created_at__gt=since, details__subjects__contains=[subject]
        ).exists()
        if not alerted:
            first = rows.order_by("created_at", "pk").values_list("pk", flat=True).first()
            subjects.append({**subject, "failures": count, "first_failure": str(first)})
    if not subjects:
        return 0
    return _sign_in_burst_send(subjects=subjects, window=window)


def _sign_in_burst_send(*, subjects: list[dict], window: datetime.timedelta) -> int:
    changelist = absolute_url(reverse("admin:accounts_securityevent_changelist"))
    context = {
        "subjects": [
            {**subject, "admin_url": f"{changelist}?{urlencode({'q': subject['value']})}"} for subject in subjects
        ],
        "window_minutes": int(window.total_seconds() // 60),
    }
    burst = ",".join(f"{subject['subject']}:{subject['value']}:{subject['first_failure']}" for subject in subjects)
    queued = 0
    for recipient in security_alert_recipients():
        digest = hashlib.sha256(f"{burst}|{recipient}".encode()).hexdigest()[:40]
        row = queue_email(
            to=recipient,
            template="accounts/staff_sign_in_burst",
            context=context,
            priority=EmailPriority.HIGH,
            idempotency_key=f"security:sign-in-burst:{digest}",
        )
        queued += row is not None
    security_event_record(
        event_type=SIGN_IN_BURST,
        severity=SecurityEvent.Severity.CRITICAL,
        details={
            "subjects": [{"subject": s["subject"], "value": s["value"]} for s in subjects],
            "failures": {s["value"]: s["failures"] for s in subjects},
        },
    )
    return queued
