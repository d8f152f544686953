"""Reads about consent: which texts she must agree to again, her current marketing and telehealth
consent, and the overview her consents page shows."""

from __future__ import annotations

from dataclasses import dataclass

from bloom.text import normalize_email

from ..consent import MARKETING_PURPOSE, NEWSLETTER_REQUEST_SOURCE, POLICIES, SIGNED_IN_POLICIES, PolicyText
from ..models import CARE_PROGRESS_SHARE_SOURCE, WELLNESS_SHARE_SOURCE, ConsentKind, ConsentRecord, User, UserProfile


def policies_to_agree(*, profile: UserProfile | None) -> list[PolicyText]:
    """The terms / privacy notice whose current version she has not agreed to yet (no query)."""
    if profile is None:
        return []
    return [
        POLICIES[kind] for kind in SIGNED_IN_POLICIES if getattr(profile, f"{kind}_version") != POLICIES[kind].version
    ]


def marketing_consent_current(*, email: str) -> bool | None:
    """The newest marketing consent recorded for this address (with or without an account), or None.

    A newsletter request is not consent yet (its confirmation is), so it does not count.
    """
    return (
        ConsentRecord.objects.filter(kind=ConsentKind.MARKETING, email=normalize_email(email))
        .exclude(source=NEWSLETTER_REQUEST_SOURCE)
        .order_by("-created_at")
        .values_list("granted", flat=True)
        .first()
    )


def telehealth_consent_current(*, member: User, any_version: bool = False) -> bool:
    """Whether her newest telehealth record is a consent to the current text (any text with
    `any_version`). One query."""
    newest = (
        ConsentRecord.objects.filter(user=member, kind=ConsentKind.TELEHEALTH)
        .order_by("-created_at")
        .values_list("granted", "text_version")
        .first()
    )
    if newest is None or not newest[0]:
        return False
    return any_version or newest[1] == POLICIES[ConsentKind.TELEHEALTH].version


@dataclass(frozen=True)
class ConsentLine:
    key: str
    title: str
    purpose: str
    given: bool
    record: ConsentRecord | None
    withdrawable: bool


_SWITCHES = (
    (
        WELLNESS_SHARE_SOURCE,
        "Sharing your check-ins with your clinician",
        "Your clinician can read your daily check-ins.",
    ),
    (
        CARE_PROGRESS_SHARE_SOURCE,
        "Sharing your progress with your care team",
        "Your clinicians can see your progress on what they suggested.",
    ),
)


def consent_overview_for_member(*, member: User) -> tuple[list[ConsentLine], list[ConsentRecord]]:
    """Her consents as they stand (newest record of each), and every record, newest first.

    Two queries. Terms and privacy are shown, not withdrawable (closing the account is how to
    leave them: the data requests page); marketing, telehealth and sharing are withdrawable.
    """
    records = list(ConsentRecord.objects.filter(user=member).order_by("-created_at"))

    def newest(match) -> ConsentRecord | None:
        return next((r for r in records if match(r)), None)

    lines = []
    for kind in SIGNED_IN_POLICIES:
        policy = POLICIES[kind]
        record = newest(lambda r, kind=kind: r.kind == kind)
        lines.append(ConsentLine(kind, policy.title, policy.purpose, bool(record and record.granted), record, False))
    marketing = newest(lambda r: r.kind == ConsentKind.MARKETING and r.source != NEWSLETTER_REQUEST_SOURCE)
    lines.append(
        ConsentLine(
            "marketing",
            "Newsletter and news by email",
            MARKETING_PURPOSE,
            bool(marketing and marketing.granted),
            marketing,
            True,
        )
    )
    telehealth = newest(lambda r: r.kind == ConsentKind.TELEHEALTH)
    policy = POLICIES[ConsentKind.TELEHEALTH]
    lines.append(
        ConsentLine(
            "telehealth", policy.title, policy.purpose, bool(telehealth and telehealth.granted), telehealth, True
        )
    )
    for source, title, purpose in _SWITCHES:
        record = newest(lambda r, source=source: r.source == source)
        lines.append(ConsentLine(source, title, purpose, bool(record and record.granted), record, True))
    return lines, records
