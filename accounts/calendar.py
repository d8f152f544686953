"""Calendars: "Add to calendar" files and a member's private calendar feed (docs/calendar.md).

accounts may not import workshops or appointments, so each of them registers an event source in
AppConfig.ready(): `source(member, since)` returns her `CalendarEvent`s from `since` on, in a fixed
number of queries whatever their number. accounts builds the .ics text (icalendar) and keeps the
feed's secret: only a SHA-256 digest of the token is stored (ADR 0185).

What the .ics holds:
- times carry her time zone (TZID plus a VTIMEZONE made by icalendar), so a phone shows them right
  wherever it is; the description says the time in words in her zone;
- the join link (LOCATION, URL, DESCRIPTION) only when the source says she holds the seat;
- a stable UID per item and a SEQUENCE that grows whenever the item or her booking changes
  (seconds since 2024, from `updated_at`), so a moved session replaces the old one;
- a cancelled item is STATUS:CANCELLED in a single download and is left out of the feed, so it
  disappears from a subscribed calendar at the next refresh (ADR 0185).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import CalendarFeed, User

PRODID = "-//Bloom//Member calendar//EN"
UID_DOMAIN = "bloom.calendar"
SEQUENCE_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
# The feed shows what happened in the last RECENT_DAYS and everything still to come.
RECENT_DAYS = 30


@dataclass(frozen=True)
class CalendarEvent:
    """One item in her calendar, as a source describes it (times are aware datetimes)."""

    uid: str
    summary: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    changed_at: datetime.datetime
    detail_url: str = ""
    description: str = ""
    join_url: str = ""
    place: str = ""
    cancelled: bool = False


CalendarSource = Callable[..., list[CalendarEvent]]
_sources: dict[str, CalendarSource] = {}


def register_calendar_source(name: str, source: CalendarSource) -> None:
    """Register `source(member=, since=) -> list[CalendarEvent]` under a name (one per app)."""
    _sources[name] = source


def calendar_event_list(*, member: User, since: datetime.datetime | None = None) -> list[CalendarEvent]:
    """Her items from every source starting from `since` (default: RECENT_DAYS ago), by start."""
    since = since or timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    events = [event for source in _sources.values() for event in source(member=member, since=since)]
    return sorted(events, key=lambda event: (event.starts_at, event.uid))


def member_zone(member: User) -> ZoneInfo:
    """Her zone from her profile (as the pages show times), else the practice's default."""
    profile = getattr(member, "profile", None)
    try:
        return ZoneInfo(getattr(profile, "timezone", None) or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def event_sequence(changed_at: datetime.datetime) -> int:
    """A SEQUENCE that grows with every change: whole seconds since 2024 (fits iCalendar's integer)."""
    return max(0, int((changed_at - SEQUENCE_EPOCH).total_seconds()))


def when_in_words(event: CalendarEvent, zone: ZoneInfo) -> str:
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    day = f"{starts:%A} {starts.day} {starts:%B %Y}"
    return f"{day}, {_clock(starts)} to {_clock(ends)} ({zone.key} time)"


def _clock(moment: datetime.datetime) -> str:
    return f"{moment:%I:%M %p}".lstrip("0")


def _vevent(event: CalendarEvent, zone: ZoneInfo, stamp: datetime.datetime) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", f"{event.uid}@{UID_DOMAIN}")
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", event.starts_at.astimezone(zone))
    vevent.add("dtend", event.ends_at.astimezone(zone))
    vevent.add("summary", event.summary)
    vevent.add("sequence", event_sequence(event.changed_at))
    vevent.add("last-modified", event.changed_at.astimezone(datetime.UTC))
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    lines = [when_in_words(event, zone)]
    if event.cancelled:
        lines.insert(0, "This has been cancelled.")
    elif event.join_url:
        lines.append(f"Join: {event.join_url}")
    if event.description:
        lines.append(event.description)
    if event.detail_url:
        lines.append(f"Details: {event.detail_url}")
    vevent.add("description", "\n\n".join(lines))
    if event.join_url and not event.cancelled:
        vevent.add("location", event.join_url)
        vevent.add("url", event.join_url)
    else:
        if event.place:
            vevent.add("location", event.place)
        if event.detail_url:
            vevent.add("url", event.detail_url)
    return vevent


def calendar_ics(*, member: User, events: list[CalendarEvent], name: str) -> bytes:
    """The .ics text for her events: times in her zone with their VTIMEZONE, one VEVENT each."""
    zone = member_zone(member)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    stamp = timezone.now().astimezone(datetime.UTC).replace(microsecond=0)
    for event in events:
        calendar.add_component(_vevent(event, zone, stamp))
    # As calendar.add_missing_timezones() would, the zones' VTIMEZONEs go first among the
    # components, right after the calendar's properties; each is built and serialised once
    # per process (`_vtimezone_ical`), about half the time of a one-event .ics otherwise.
    zones = b"".join(_vtimezone_ical(tzid) for tzid in sorted(calendar.get_missing_tzids()))
    ical = calendar.to_ical()
    return ical.replace(b"BEGIN:VEVENT\r\n", zones + b"BEGIN:VEVENT\r\n", 1) if zones else ical


@functools.lru_cache(maxsize=64)
def _vtimezone_ical(tzid: str) -> bytes:
    """A zone's VTIMEZONE as .ics lines (empty when the zone is unknown), as icalendar builds it
    with its default range of transitions (1970-2038): the same for every calendar."""
    try:
        return icalendar.Timezone.from_tzid(tzid).to_ical()
    except ValueError:
        return b""


# --- The private feed -------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_get(*, member: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=member).first()


@transaction.atomic
def calendar_feed_rotate(*, member: User) -> str:
    """Give her a new feed token and return it (the only time it is known).

    Makes the feed if she has none; otherwise the old token stops working at once.
    """
    token = secrets.token_urlsafe(32)
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(
        user=member, defaults={"token_hash": _digest(token)}
    )
    if not created:
        feed.token_hash = _digest(token)
        feed.rotated_at = timezone.now()
        feed.save(update_fields=["token_hash", "rotated_at"])
    return token


def calendar_feed_turn_off(*, member: User) -> bool:
    """Delete her feed: its URL answers 404 from now on. True if there was one."""
    deleted, _ = CalendarFeed.objects.filter(user=member).delete()
    return bool(deleted)


def calendar_feed_member(*, token: str) -> User | None:
    """The active member whose feed token this is, or None (one query).

    The lookup is by digest, so a guess learns nothing from timing; the digests are compared
    again in constant time.
    """
    if not token or len(token) > 100:
        return None
    digest = _digest(token)
    feed = CalendarFeed.objects.select_related("user__profile").filter(token_hash=digest).first()
    if feed is None or not hmac.compare_digest(feed.token_hash, digest) or not feed.user.is_active:
        return None
    return feed.user
