"""Reads for members: profile, preferences, wellness, achievements, data requests and the export.

Member reads take the member and filter by it."""

from __future__ import annotations

import calendar
import datetime
import io
import json
import zipfile

from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bloom.privacy import privacy_export

from ..models import (
    PREFERENCE_FIELDS,
    ConsentRecord,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    User,
    UserAchievement,
    UserPreferences,
    UserProfile,
    WellnessEntry,
)


def profile_get_for_member(*, member: User) -> UserProfile | None:
    """Her profile: the one loaded with `request.user` (accounts/backends.py) when it is, else
    one query; the row is then kept on `member` for the rest of the request."""
    try:
        return member.profile
    except UserProfile.DoesNotExist:
        return None


def preferences_get_for_member(*, member: User) -> UserPreferences | None:
    return UserPreferences.objects.filter(user=member).first()


def wellness_entry_list_for_member(*, member: User, limit: int = 14) -> list[WellnessEntry]:
    return list(WellnessEntry.objects.filter(user=member).order_by("-entry_date")[:limit])


def wellness_entry_today_for_member(*, member: User) -> WellnessEntry | None:
    return WellnessEntry.objects.filter(user=member, entry_date=timezone.localdate()).first()


def achievement_list_for_member(*, member: User) -> list[UserAchievement]:
    return list(UserAchievement.objects.filter(user=member).order_by("-awarded_at"))


def data_request_list_for_member(*, member: User) -> list[DataRequest]:
    """Her newest 20 requests, each with `deadline` (the date we must answer by)."""
    rows = list(DataRequest.objects.filter(user=member).defer("export_data").order_by("-requested_at")[:20])
    for row in rows:
        row.deadline = data_request_deadline(data_request=row)
    return rows


def data_request_deadline(*, data_request: DataRequest) -> datetime.datetime:
    """GDPR Art. 12(3): one month from receipt (the same day next month, or its last day)."""
    received = data_request.requested_at
    month, year = (received.month % 12) + 1, received.year + (received.month // 12)
    day = min(received.day, calendar.monthrange(year, month)[1])
    return received.replace(year=year, month=month, day=day)


def data_request_export_get_for_member(*, member: User, request_id) -> DataRequest:
    """A completed export of this member; anything else (another member's, pending) is a 404."""
    return get_object_or_404(
        DataRequest, pk=request_id, user=member, kind=DataRequestKind.EXPORT, status=DataRequestStatus.COMPLETED
    )


def _iso(value):
    return value.isoformat() if value is not None else None


# Apps above accounts add their part of the export here from AppConfig.ready() (accounts cannot
# import them: the layer contract). Each builder takes member= and returns JSON-ready data.
_EXPORT_SECTIONS: dict = {}


def register_export_section(key: str, build) -> None:
    _EXPORT_SECTIONS[key] = build


def member_data_export(*, member: User) -> dict:
    """Everything accounts holds about the member, as JSON-ready data (wellness notes decrypted)."""
    profile = UserProfile.objects.filter(user=member).first()
    preferences = UserPreferences.objects.filter(user=member).first()
    data = {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": member.email,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "date_joined": _iso(member.date_joined),
        },
        "profile": None,
        "preferences": None,
        "achievements": [
            {"key": a.key, "title": a.title, "description": a.description, "awarded_at": _iso(a.awarded_at)}
            for a in UserAchievement.objects.filter(user=member).order_by("awarded_at")
        ],
        "wellness_entries": [
            {
                "entry_date": _iso(e.entry_date),
                "mood": e.mood,
                "sleep_hours": str(e.sleep_hours) if e.sleep_hours is not None else None,
                "anxiety": e.anxiety,
                "energy": e.energy,
                "support": e.support,
                "notes": e.notes,
            }
            for e in WellnessEntry.objects.filter(user=member).order_by("entry_date")
        ],
        "consent_records": [
            {"kind": c.kind, "granted": c.granted, "source": c.source, "created_at": _iso(c.created_at)}
            for c in ConsentRecord.objects.filter(user=member).order_by("created_at")
        ],
        "pauses": [
            {
                "starts_at": _iso(p.starts_at),
                "ends_at": _iso(p.ends_at),
                "ended_at": _iso(p.ended_at),
                "reason": p.reason,
            }
            for p in member.pauses.order_by("starts_at")
        ],
        "screening_responses": [
            {
                "instrument": r.instrument,
                "taken_at": _iso(r.taken_at),
                "answers": json.loads(r.answers),
                "total": r.total,
                "band": r.band,
                "perinatal_stage": r.perinatal_stage,
                "perinatal_week": r.perinatal_week,
                "shared_with_clinician": r.shared_with_clinician,
            }
            for r in member.screening_responses.order_by("taken_at")
        ],
    }
    if profile is not None:
        data["profile"] = {
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "preferred_name": profile.preferred_name,
            "phone": profile.phone,
            "stage": profile.stage,
            "due_date": _iso(profile.due_date),
            "baby_birth_date": _iso(profile.baby_birth_date),
            "topics": list(profile.topics),
            "timezone": profile.timezone,
            "email_verified": profile.email_verified,
            "onboarding_completed": profile.onboarding_completed,
            "referral_source": profile.referral_source,
            "marketing_consent": profile.marketing_consent,
        }
    if preferences is not None:
        # Quiet-hour times as "21:00": the export is JSON.
        data["preferences"] = {
            name: value.strftime("%H:%M") if isinstance(value, datetime.time) else value
            for name, value in ((name, getattr(preferences, name)) for name in PREFERENCE_FIELDS)
        }
    for key, build in _EXPORT_SECTIONS.items():
        data[key] = build(member=member)
    return data


def member_data_archive(*, member: User) -> dict:
    """What her export holds: the summary sections above, her rows of every model in the
    personal-data registry (bloom/privacy.py) by model label, and her files' storage names."""
    records, files = privacy_export(member=member)
    return {
        "summary": _plain(member_data_export(member=member)),
        "records": records,
        "files": [{"archive_name": name, "storage_name": file.name} for name, file in files],
    }


def member_data_zip(*, archive: dict, member_name: str = "") -> bytes:
    """The download: account.json (summary), records/<model>.json (one per registered model),
    files/ (her uploads still in storage) and summary.html in plain language."""
    from django.apps import apps
    from django.core.files.storage import default_storage
    from django.template.loader import render_to_string

    buffer = io.BytesIO()
    rows = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_zip:
        archive_zip.writestr("account.json", json.dumps(archive.get("summary", archive), indent=2, ensure_ascii=False))
        for label, model_rows in sorted(archive.get("records", {}).items()):
            archive_zip.writestr(f"records/{label}.json", json.dumps(model_rows, indent=2, ensure_ascii=False))
            if model_rows:
                model = apps.get_model(label)
                rows.append(
                    (
                        str(model._meta.verbose_name_plural).capitalize(),
                        model._meta.app_config.verbose_name,
                        len(model_rows),
                    )
                )
        missing = []
        for item in archive.get("files", []):
            try:
                with default_storage.open(item["storage_name"]) as stored:
                    archive_zip.writestr(item["archive_name"], stored.read())
            except FileNotFoundError:
                missing.append(item["archive_name"])
        summary = archive.get("summary", {})
        archive_zip.writestr(
            "summary.html",
            render_to_string(
                "accounts/data_export_summary.html",
                {
                    "account": summary.get("account", {}),
                    "exported_at": summary.get("exported_at"),
                    "rows": sorted(rows),
                    "file_count": len(archive.get("files", [])) - len(missing),
                    "missing": missing,
                },
            ),
        )
    return buffer.getvalue()


def _plain(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def consent_switch_get(*, member: User, source: str) -> bool:
    """Her current choice for a consent switch (`source`): the newest record decides. One query."""
    return bool(
        ConsentRecord.objects.filter(user=member, source=source)
        .order_by("-created_at")
        .values_list("granted", flat=True)
        .first()
    )
