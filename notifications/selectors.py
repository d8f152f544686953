"""Reads: who may receive what (suppression, consent), a member's notices (fenced to the member)
and campaign reports."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, Window
from django.db.models.functions import Lower, TruncDate

from bloom.cache import kept
from bloom.text import normalize_email

from .models import EmailCampaignMetric, EmailCategory, EmailPriority, EmailSuppression, UserNotification
from .registry import marketing_consent_lookup_many, marketing_consent_lookups

# --- Who may receive what ------------------------------------------------------------------------


def suppression_get(*, email: str) -> EmailSuppression | None:
    """The suppression-list entry for this address (compared normalised), or None."""
    return EmailSuppression.objects.filter(email=normalize_email(email)).first()


def marketing_consent_get(*, email: str, user=None) -> bool:
    """Marketing consent: the user's profile when the address belongs to a user, else the lookups."""
    if user is None:
        user = get_user_model().objects.filter(email__iexact=email).first()
    if user is not None:
        try:
            return bool(user.profile.marketing_consent)
        except ObjectDoesNotExist:
            return False
    for lookup in marketing_consent_lookups():
        answer = lookup(email=email)
        if answer is not None:
            return bool(answer)
    return False


def refusal_reason_get(*, email: str, category: str, user=None) -> str | None:
    """Why mail of this category must not go to this address, or None when it may."""
    suppression = suppression_get(email=email)
    if suppression is not None and (
        suppression.scope == EmailSuppression.Scope.ALL or category == EmailCategory.MARKETING
    ):
        return f"{email} is on the suppression list ({suppression.get_reason_display().lower()})"
    if category == EmailCategory.MARKETING and not marketing_consent_get(email=email, user=user):
        return f"{email} has not consented to marketing email"
    return None


def user_for_email_get(*, email: str):
    """The account this address belongs to (compared case-insensitively), with the preferences and
    profile quiet hours need, in one query; None for an address with no account."""
    return get_user_model().objects.filter(email__iexact=email).select_related("preferences", "profile").first()


def users_for_emails_get(*, emails) -> dict:
    """`user_for_email_get` for many normalised addresses in one query: address -> account
    (with preferences and profile); addresses with no account are left out."""
    if not emails:
        return {}
    found: dict = {}
    rows = (
        get_user_model()
        .objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=list(emails))
        .select_related("preferences", "profile")
        .order_by("pk")
    )
    for user in rows:
        found.setdefault(user.email_lower, user)  # the first by pk, as `.first()` answers one address
    return found


def refusal_reasons_get_many(*, emails, category: str, users: dict) -> dict[str, str]:
    """`refusal_reason_get` for many normalised addresses in a few queries, whatever their number:
    address -> why mail of this category must not go there (addresses that may receive it are
    left out). `users` maps the addresses that belong to an account (`users_for_emails_get`)."""
    emails = list(emails)
    if not emails:
        return {}
    reasons: dict[str, str] = {}
    suppressions = EmailSuppression.objects.filter(email__in=emails)
    if category != EmailCategory.MARKETING:
        suppressions = suppressions.filter(scope=EmailSuppression.Scope.ALL)
    for suppression in suppressions:
        reasons.setdefault(
            suppression.email,
            f"{suppression.email} is on the suppression list ({suppression.get_reason_display().lower()})",
        )
    if category != EmailCategory.MARKETING:
        return reasons
    consenting = set()
    unknown = []
    for email in emails:
        if email in reasons:
            continue
        user = users.get(email)
        if user is None:
            unknown.append(email)
            continue
        try:
            if user.profile.marketing_consent:
                consenting.add(email)
        except ObjectDoesNotExist:
            pass
    for lookup in marketing_consent_lookups():
        if not unknown:
            break
        many = marketing_consent_lookup_many(lookup)
        answers = many(emails=unknown) if many is not None else {e: lookup(email=e) for e in unknown}
        consenting |= {email for email in unknown if answers.get(email)}
        unknown = [email for email in unknown if answers.get(email) is None]
    for email in emails:
        if email not in reasons and email not in consenting:
            reasons[email] = f"{email} has not consented to marketing email"
    return reasons


# --- Quiet hours ----------------------------------------------------------------------------------


def mail_may_wait(*, category: str, priority: int) -> bool:
    """Whether quiet hours may hold this mail: newsletters, campaigns and gentle nudges (marketing or
    low priority). Clinical mail (crisis alerts, session matters), high-priority mail and the
    account and appointment mail a member is waiting for are never held."""
    if category == EmailCategory.CLINICAL or int(priority) <= EmailPriority.HIGH:
        return False
    return category == EmailCategory.MARKETING or int(priority) >= EmailPriority.LOW


def quiet_hours_release_get(*, user, when: datetime.datetime) -> datetime.datetime:
    """When mail that may wait, due at `when`, should go to `user`: `when` itself outside her quiet
    hours, else the end of the quiet hours in her own time zone (DST-aware). Members without quiet
    hours, without preferences or with an unknown zone get `when`."""
    preferences = getattr(user, "preferences", None) if user is not None else None
    if preferences is None or not preferences.quiet_hours:
        return when
    start, end = preferences.quiet_hours_start, preferences.quiet_hours_end
    if start == end:
        return when
    try:
        zone = ZoneInfo(getattr(getattr(user, "profile", None), "timezone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = when.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not inside:
        return when
    release_day = local.date()
    if overnight and clock >= start:
        release_day += datetime.timedelta(days=1)
    release = datetime.datetime.combine(release_day, end, tzinfo=zone)
    return max(when, release.astimezone(datetime.UTC))


# --- Portal notices and campaign reports ---------------------------------------------------------


def notification_list_for_member(*, member, limit: int = 50) -> list[UserNotification]:
    """The member's newest notices, newest first (one query).

    The same query counts all her unread notices (a window over her rows, taken before the
    limit) and keeps the count on `member`, so the bell in base.html costs no second query.
    """
    rows = list(
        UserNotification.objects.filter(user=member)
        .annotate(unread_total=Window(Count("pk", filter=Q(read=False))))
        .order_by("-created_at")[:limit]
    )
    member.notifications_unread_known = rows[0].unread_total if rows else 0
    return rows


UNREAD_COUNT_KEY = "notifications:unread:v1:{user_id}"


def notification_unread_count(*, member) -> int:
    """Her unread notices: known already when her list was read in this request, else kept
    in the cache for a member (the bell is on every page of hers;
    `services.notices.unread_count_forget` drops it when one of her notices is written, read or
    deleted), else one query (staff, whose back-office pages are counted as they were)."""
    known = getattr(member, "notifications_unread_known", None)
    if known is not None:
        return known
    count = UserNotification.objects.filter(user=member, read=False).count
    if member.is_staff:
        return count()
    return kept(UNREAD_COUNT_KEY.format(user_id=member.pk), count, 120)


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def campaign_metrics_summary(*, campaign_id) -> dict:
    """Sent/opened/clicked/unsubscribed/bounced counts, rates (% of sent) and a per-day series.

    The series counts each event on the day it happened; `chart` holds the bar geometry the
    `notifications/_campaign_report.html` partial draws as inline SVG.
    """
    rows = EmailCampaignMetric.objects.filter(campaign_id=campaign_id)
    totals = rows.aggregate(
        queued=Count("id"),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
        bounced=Count("id", filter=Q(bounced_at__isnull=False)),
    )
    days: dict = {}
    for event in ("sent", "opened", "clicked"):
        per_day = (
            rows.filter(**{f"{event}_at__isnull": False})
            .annotate(day=TruncDate(f"{event}_at"))
            .values("day")
            .annotate(n=Count("id"))
        )
        for item in per_day:
            days.setdefault(item["day"], {"day": item["day"], "sent": 0, "opened": 0, "clicked": 0})[event] = item["n"]
    series = [days[day] for day in sorted(days)]
    sent = totals["sent"]
    return {
        "campaign_id": campaign_id,
        **totals,
        "open_rate": _rate(totals["opened"], sent),
        "click_rate": _rate(totals["clicked"], sent),
        "unsubscribe_rate": _rate(totals["unsubscribed"], sent),
        "bounce_rate": _rate(totals["bounced"], sent),
        "series": series,
        "chart": _chart(series),
    }


def _chart(series: list[dict], *, height: int = 120, group_width: int = 48) -> dict:
    peak = max((max(day["sent"], day["opened"], day["clicked"]) for day in series), default=0) or 1
    groups = []
    for index, day in enumerate(series):
        x = index * group_width + 8
        bars = []
        for offset, key in enumerate(("sent", "opened", "clicked")):
            bar_height = round(height * day[key] / peak)
            bars.append(
                {"key": key, "value": day[key], "x": x + offset * 12, "y": height - bar_height, "height": bar_height}
            )
        groups.append({"day": day["day"], "label_x": x, "bars": bars})
    return {"width": max(len(series), 1) * group_width + 16, "height": height, "label_y": height + 14, "groups": groups}
