"""Consent: the append-only evidence (`consent_records`), agreeing to the terms and the privacy
notice, marketing consent given and withdrawn from anywhere, telehealth consent (docs/accounts.md
"Consent", docs/adr/0340)."""

from __future__ import annotations

from django.db import transaction

from bloom.exceptions import ApplicationError
from bloom.http import client_ip
from bloom.text import normalize_email
from notifications.registry import unsubscribe_handlers

from ..consent import MARKETING_PURPOSE, POLICIES, SIGNED_IN_POLICIES
from ..models import (
    CARE_PROGRESS_SHARE_SOURCE,
    WELLNESS_SHARE_SOURCE,
    ConsentKind,
    ConsentRecord,
    User,
    UserPreferences,
    UserProfile,
)
from ..selectors.consent import marketing_consent_current, telehealth_consent_current

# Where a withdrawal from her consents page is recorded.
CONSENTS_PAGE_SOURCE = "consents_page"
TELEHEALTH_SOURCE = "session_page"


def consent_record(
    *,
    user: User | None,
    kind: str,
    granted: bool,
    source: str,
    request=None,
    text_version: str = "",
    purpose: str = "",
    email: str = "",
) -> ConsentRecord:
    """Append one consent row (records are never updated: they are the evidence).

    With a request, the client's address (bloom.http.client_ip) and its user agent are kept;
    `text_version` names the version of the text she agreed to (terms, a booking policy) and
    `purpose` what she was told it is for. `email` is the address it concerns (her account's
    address when empty); a record without an account (a newsletter subscriber) needs it.
    """
    user_agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return ConsentRecord.objects.create(
        user=user,
        email=normalize_email(email or (user.email if user is not None else "")),
        kind=kind,
        granted=granted,
        source=source[:40],
        purpose=purpose[:300],
        ip_address=client_ip(request),
        user_agent=user_agent[:1000],
        text_version=text_version[:40],
    )


@transaction.atomic
def policies_agree(*, member: User, source: str, request=None) -> list[ConsentRecord]:
    """She agreed to the current terms of use and has read the current privacy notice.

    Writes one record per text (kind terms / privacy, its version, her IP and user agent) and
    mirrors the versions onto `user_profiles.terms_version` / `privacy_version`, which the
    middleware reads to know she need not be asked again. Texts she already agreed to at their
    current version write nothing (a double submit writes once).
    """
    profile = UserProfile.objects.select_for_update().get(user=member)
    written = []
    for kind in SIGNED_IN_POLICIES:
        policy = POLICIES[kind]
        field = f"{kind}_version"
        if getattr(profile, field) == policy.version:
            continue
        written.append(
            consent_record(
                user=member,
                kind=kind,
                granted=True,
                source=source,
                request=request,
                text_version=policy.version,
                purpose=policy.purpose,
            )
        )
        setattr(profile, field, policy.version)
    if written:
        profile.save(update_fields=["terms_version", "privacy_version", "updated_at"])
    member.profile = profile
    return written


@transaction.atomic
def marketing_consent_set(
    *, email: str, granted: bool, source: str, request=None, tell_unsubscribe_handlers: bool = True
) -> bool:
    """Record marketing consent given or withdrawn for an address, and honour it everywhere.

    Writes a marketing consent record when the choice differs from the newest one (requests
    for the newsletter do not count: only the confirmation does). For an address with an
    account, `user_profiles.marketing_consent` and `user_preferences.newsletter` follow it
    (notifications refuses marketing mail, campaigns and marketing sequences included, by the
    profile). A withdrawal also calls notifications' unsubscribe handlers, so her newsletter
    subscription ends too (not when notifications is the caller: it calls them itself).
    Returns whether anything was written.
    """
    email = normalize_email(email)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if marketing_consent_current(email=email) == granted:
        return False
    consent_record(
        user=user,
        email=email,
        kind=ConsentKind.MARKETING,
        granted=granted,
        source=source,
        request=request,
        purpose=MARKETING_PURPOSE,
    )
    if user is not None:
        UserProfile.objects.filter(user=user).update(marketing_consent=granted)
        UserPreferences.objects.filter(user=user).exclude(newsletter=granted).update(newsletter=granted)
    if not granted and tell_unsubscribe_handlers:
        for handler in unsubscribe_handlers():
            if handler is not marketing_unsubscribed:
                handler(email=email, reason=source)
    return True


def marketing_unsubscribed(*, email: str, reason: str = "") -> None:
    """notifications' unsubscribe handler: an unsubscribe link (or a complaint) is a withdrawal."""
    marketing_consent_set(
        email=email, granted=False, source=f"unsubscribe:{reason or 'link'}", tell_unsubscribe_handlers=False
    )


def telehealth_consent_give(*, member: User, request=None) -> bool:
    """She agreed to sessions by video, at the consent text's current version.

    Idempotent: nothing is written while her agreement to the current version stands.
    Returns whether a record was written.
    """
    policy = POLICIES[ConsentKind.TELEHEALTH]
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=member.pk).first()
        if telehealth_consent_current(member=member):
            return False
        consent_record(
            user=member,
            kind=ConsentKind.TELEHEALTH,
            granted=True,
            source=TELEHEALTH_SOURCE,
            request=request,
            text_version=policy.version,
            purpose=policy.purpose,
        )
    return True


# What she can withdraw from her consents page, and how.
WITHDRAWABLE = ("marketing", "telehealth", WELLNESS_SHARE_SOURCE, CARE_PROGRESS_SHARE_SOURCE)


def consent_withdraw(*, member: User, what: str, request=None) -> bool:
    """Withdraw one consent from her consents page (`what` is one of WITHDRAWABLE).

    Marketing goes through `marketing_consent_set`; telehealth writes a withdrawal record (she is
    asked again before her next video session); sharing with her clinician turns the switch off
    (`consent_switch_set`). Withdrawing what is not given writes nothing; returns whether
    anything changed. Anything else is refused (ApplicationError).
    """
    from .members import consent_switch_set

    if what == "marketing":
        return marketing_consent_set(email=member.email, granted=False, source=CONSENTS_PAGE_SOURCE, request=request)
    if what == "telehealth":
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=member.pk).first()
            if not telehealth_consent_current(member=member, any_version=True):
                return False
            consent_record(
                user=member,
                kind=ConsentKind.TELEHEALTH,
                granted=False,
                source=CONSENTS_PAGE_SOURCE,
                request=request,
                purpose=POLICIES[ConsentKind.TELEHEALTH].purpose,
            )
        return True
    if what in (WELLNESS_SHARE_SOURCE, CARE_PROGRESS_SHARE_SOURCE):
        return consent_switch_set(member=member, source=what, granted=False, request=request)
    raise ApplicationError("This consent cannot be withdrawn here.")
