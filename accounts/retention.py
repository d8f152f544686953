"""Data retention for accounts (docs/adr/0350; defaults and reasons in docs/operations.md "Retention").

A member's relationship with the practice is taken to end at her last sign-in (or sign-up, if
she never signed in): wellness, screening and consent limits count from then, so nothing of an
active member goes. An unacknowledged risk alert holds every row of hers (HOLDS).
"""

from django.contrib.admin.models import LogEntry
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast, Coalesce

from bloom.retention import RetentionHold, RetentionPolicy, deletion_policy

from .models import (
    AdminActivityLog,
    AdminSession,
    ConsentRecord,
    RiskAlert,
    RiskSource,
    ScreeningResponse,
    SecurityEvent,
    User,
    WellnessEntry,
)


def members_inactive_since(cutoff) -> QuerySet:
    """Ids of users who have not signed in (or, never signed in, joined) since `cutoff`."""
    last_seen = Coalesce("last_login", "date_joined")
    return User.objects.alias(last_seen=last_seen).filter(last_seen__lt=cutoff).values("pk")


def _inactive_members_rows(model, cutoff) -> QuerySet:
    """`model` rows of members inactive since `cutoff` who wrote no wellness check-in since either."""
    recent_checkins = WellnessEntry.objects.filter(entry_date__gte=cutoff.date()).values("user_id")
    return model.objects.filter(user__in=members_inactive_since(cutoff)).exclude(user__in=recent_checkins)


def _wellness_raised_an_alert():
    """The check-in's notes raised a risk alert: it was used in care (a clinical record)."""
    as_text = Cast(OuterRef("pk"), CharField())
    return Exists(RiskAlert.objects.filter(source=RiskSource.WELLNESS_NOTE, source_object_id=as_text))


def _used_in_care_screenings():
    return Exists(RiskAlert.objects.filter(screening_response=OuterRef("pk")))


def _private_wellness(cutoff) -> QuerySet:
    return _inactive_members_rows(WellnessEntry, cutoff).filter(~_wellness_raised_an_alert())


def _wellness_in_care(cutoff) -> QuerySet:
    return _inactive_members_rows(WellnessEntry, cutoff).filter(_wellness_raised_an_alert())


def _private_screenings(cutoff) -> QuerySet:
    rows = _inactive_members_rows(ScreeningResponse, cutoff)
    return rows.filter(shared_with_clinician=False).filter(~_used_in_care_screenings())


def _screenings_in_care(cutoff) -> QuerySet:
    rows = _inactive_members_rows(ScreeningResponse, cutoff)
    return rows.filter(shared_with_clinician=True) | rows.filter(_used_in_care_screenings())


def _acknowledged_alerts(cutoff) -> QuerySet:
    inactive = members_inactive_since(cutoff)
    return RiskAlert.objects.filter(user__in=inactive, acknowledged_at__lt=cutoff)


def _member_policy(name, setting, find) -> RetentionPolicy:
    return deletion_policy(name=name, setting=setting, find=find, member="user")


POLICIES = [
    _member_policy("wellness_entries of members inactive past the limit", "wellness", _private_wellness),
    _member_policy("screening_responses she kept to herself, inactive past the limit", "wellness", _private_screenings),
    _member_policy(
        "wellness_entries that raised a risk alert, inactive past the limit", "clinical_records", _wellness_in_care
    ),
    _member_policy(
        "screening_responses shared or alerted, inactive past the limit", "clinical_records", _screenings_in_care
    ),
    _member_policy(
        "risk_alerts acknowledged, of members inactive past the limit", "clinical_records", _acknowledged_alerts
    ),
    _member_policy(
        "consent_records of members inactive past the limit",
        "consent_records",
        lambda cutoff: ConsentRecord.objects.filter(user__in=members_inactive_since(cutoff)),
    ),
    _member_policy(
        "security_events older than the limit",
        "security_events",
        lambda cutoff: SecurityEvent.objects.filter(created_at__lt=cutoff),
    ),
    deletion_policy(
        name="admin_sessions last seen before the limit",
        setting="security_events",
        find=lambda cutoff: AdminSession.objects.filter(last_seen_at__lt=cutoff),
    ),
    _member_policy(
        "admin_activity_log older than the limit",
        "admin_activity",
        lambda cutoff: AdminActivityLog.objects.filter(created_at__lt=cutoff),
    ),
    deletion_policy(
        name="django_admin_log older than the limit",
        setting="admin_activity",
        find=lambda cutoff: LogEntry.objects.filter(action_time__lt=cutoff),
    ),
]

HOLDS = [
    RetentionHold(
        name="unacknowledged risk alert",
        users=lambda now: RiskAlert.objects.filter(acknowledged_at__isnull=True).values("user_id"),
    )
]
