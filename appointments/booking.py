"""The booking gate: before her first booking with a therapist a member saves a card and
accepts that therapist's cancellation and no-show policy; then Calendly opens, pre-filled
and carrying the opaque tracking value (docs/appointments.md, ADRs 0200-0203).

Reads (`booking_gate_get`, `policy_acceptance_current`, `therapist_weekly_hours`) and writes
(`booking_policy_accept`, `booking_calendly_url`) of the gate live here; the Good Faith
Estimate it issues is in gfe.py.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ConsentKind, User
from accounts.services import consent_record
from billing import selectors as billing_selectors
from bloom.exceptions import ApplicationError

from . import gfe
from .models import BookingPolicyAcceptance, GoodFaithEstimate, TherapistAvailability, TherapistProfile
from .selectors import therapist_session_fee
from .tracking import TRACKING_PARAMETER, booking_tracking_value

CONSENT_SOURCE = "booking_gate"

STEP_CARD = "card"
STEP_POLICY = "policy"
STEP_READY = "ready"

NOT_ACCEPTING_MESSAGE = (
    "{name} is not taking new clients right now, so online booking is closed. "
    "Another of our therapists may be a good fit, or contact us and we will help you find someone."
)


class BookingUnavailable(ApplicationError):
    """The therapist cannot be booked online now (not accepting clients or no booking page)."""


def policy_version() -> str:
    """The version of the policy wording now shown (settings.BLOOM_BOOKING_POLICY_VERSION)."""
    return settings.BLOOM_BOOKING_POLICY_VERSION


@dataclass(frozen=True)
class PolicyTerms:
    """The terms of a therapist's policy as they stand: what a member accepts."""

    version: str
    window_hours: int
    session_fee: Decimal | None
    no_show_fee: Decimal | None
    late_cancel_fee: Decimal | None
    currency: str
    session_minutes: int

    @property
    def fingerprint(self) -> str:
        """The terms in one string, carried by the policy form: if the wording or any term
        changed while she read, what she accepted is not what is now on offer."""
        fees = "|".join("-" if fee is None else f"{fee:.2f}" for fee in self._fees)
        return f"{self.version}|{self.window_hours}|{fees}"

    @property
    def accepted_fields(self) -> dict:
        """The terms as a BookingPolicyAcceptance stores them: what an acceptance that still
        holds must match, and what a new one copies."""
        return {
            "policy_version": self.version,
            "window_hours": self.window_hours,
            "session_fee": self.session_fee,
            "no_show_fee": self.no_show_fee,
            "late_cancel_fee": self.late_cancel_fee,
        }

    @property
    def _fees(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        return (self.session_fee, self.no_show_fee, self.late_cancel_fee)


def policy_terms(*, therapist: TherapistProfile) -> PolicyTerms:
    return PolicyTerms(
        version=policy_version(),
        window_hours=therapist.cancellation_window_hours,
        session_fee=therapist_session_fee(therapist),
        no_show_fee=therapist.no_show_fee,
        late_cancel_fee=therapist.late_cancel_fee,
        currency=therapist.currency,
        session_minutes=therapist.session_minutes,
    )


def policy_acceptance_current(*, user: User, therapist: TherapistProfile) -> BookingPolicyAcceptance | None:
    """Her acceptance of `therapist`'s policy that still holds: the newest one of the wording
    now shown (version) and of the therapist's terms as they stand (window and fees). A new
    wording or a changed fee or window means she is asked again (ADR 0201). One query."""
    terms = policy_terms(therapist=therapist)
    return (
        BookingPolicyAcceptance.objects.filter(user=user, therapist=therapist, **terms.accepted_fields)
        .order_by("-accepted_at")
        .first()
    )


def member_has_saved_card(*, member: User) -> bool:
    return billing_selectors.payment_method_list_for_member(member=member).exists()


def therapist_get_for_booking(*, therapist_id) -> TherapistProfile:
    """A therapist a member may look at (not archived); TherapistProfile.DoesNotExist else."""
    return TherapistProfile.objects.get(pk=therapist_id)


def therapist_bookable_check(*, therapist: TherapistProfile) -> None:
    """Raise BookingUnavailable (a kind message) unless the therapist can be booked online."""
    if not therapist.is_accepting_clients:
        raise BookingUnavailable(NOT_ACCEPTING_MESSAGE.format(name=therapist.display_name))
    if not therapist.scheduling_url:
        raise BookingUnavailable(
            f"Online booking with {therapist.display_name} is not open yet; please contact us and we will book for you."
        )


@dataclass(frozen=True)
class BookingGate:
    """Where a member stands before booking with one therapist."""

    therapist: TherapistProfile
    terms: PolicyTerms
    has_card: bool
    acceptance: BookingPolicyAcceptance | None
    estimate: GoodFaithEstimate | None

    @property
    def step(self) -> str:
        if not self.has_card:
            return STEP_CARD
        if self.acceptance is None:
            return STEP_POLICY
        return STEP_READY


def booking_gate_get(*, member: User, therapist: TherapistProfile, today: date | None = None) -> BookingGate:
    """The gate for `member` and `therapist`: card first, then the policy, then ready (the
    estimate is her valid Good Faith Estimate for this therapist, when she has one)."""
    therapist_bookable_check(therapist=therapist)
    return BookingGate(
        therapist=therapist,
        terms=policy_terms(therapist=therapist),
        has_card=member_has_saved_card(member=member),
        acceptance=policy_acceptance_current(user=member, therapist=therapist),
        estimate=gfe.good_faith_estimate_valid_for(member=member, therapist=therapist, today=today),
    )


def booking_policy_accept(
    *, member: User, therapist: TherapistProfile, terms_seen: str, request=None, today: date | None = None
) -> BookingPolicyAcceptance:
    """Record that `member` accepted `therapist`'s policy as she was shown it (`terms_seen`,
    the `PolicyTerms.fingerprint` of the page she read).

    Guarantees, in one transaction (the member's row is locked, so a double submit writes
    once): a consent record (kind booking_policy, the text version, her IP via bloom.http,
    her user agent, the time) and a BookingPolicyAcceptance with the terms copied as they
    stand; then a Good Faith Estimate unless she holds a valid one (gfe.py). Idempotent:
    an acceptance that still holds is returned as it is. Refuses (ApplicationError) when the
    therapist cannot be booked, no card is saved yet (the gate's order), or the wording or
    a term she was shown is no longer the current one.
    """
    therapist_bookable_check(therapist=therapist)
    terms = policy_terms(therapist=therapist)
    if terms_seen != terms.fingerprint:
        raise ApplicationError("The policy was updated while you were reading it. Please read it again below.")
    if not member_has_saved_card(member=member):
        raise ApplicationError("Please save a card first; then you can accept the policy.")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=member.pk)
        current = policy_acceptance_current(user=member, therapist=therapist)
        if current is not None:
            return current
        consent = consent_record(
            user=member,
            kind=ConsentKind.BOOKING_POLICY,
            granted=True,
            source=CONSENT_SOURCE,
            request=request,
            text_version=terms.version,
        )
        acceptance = BookingPolicyAcceptance.objects.create(
            user=member,
            therapist=therapist,
            **terms.accepted_fields,
            currency=terms.currency,
            consent=consent,
        )
        gfe.good_faith_estimate_issue(member=member, therapist=therapist, today=today)
    return acceptance


def booking_calendly_url(*, member: User, therapist: TherapistProfile) -> str:
    """The therapist's Calendly page with her name and email pre-filled and the opaque
    tracking value in `utm_content` (Calendly hands it back in the invitee's `tracking`).

    Refuses (ApplicationError) until the gate is passed: a saved card and a policy
    acceptance that still holds. Makes her BookingLink on first use (tracking.py).
    """
    therapist_bookable_check(therapist=therapist)
    if not member_has_saved_card(member=member) or policy_acceptance_current(user=member, therapist=therapist) is None:
        raise ApplicationError("Please save a card and accept the policy before choosing a time.")
    params = {
        "name": member.get_full_name(),
        "email": member.email,
        TRACKING_PARAMETER: booking_tracking_value(member=member, therapist=therapist),
    }
    separator = "&" if "?" in therapist.scheduling_url else "?"
    return f"{therapist.scheduling_url}{separator}{urlencode(params)}"


# --- usual weekly hours, in the reader's time zone (ADR 0200) -------------------------------


@dataclass(frozen=True)
class WeeklyHours:
    """One usual weekly block as the reader sees it: her weekday, start and end, in her zone."""

    weekday: str
    starts: datetime
    ends: datetime

    @property
    def ends_next_day(self) -> bool:
        return self.ends.date() != self.starts.date()


def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def weekly_hours_from_blocks(
    blocks: list[TherapistAvailability], *, reader_zone: tzinfo, today: date
) -> list[WeeklyHours]:
    """Each block's next occurrence from `today` (in the block's own zone, so daylight saving
    is applied for the coming week), shown in `reader_zone`, ordered by her week."""
    hours = []
    for block in blocks:
        if block.valid_until is not None and block.valid_until < today:
            continue
        start_day = max(today, block.valid_from) if block.valid_from else today
        day = start_day + timedelta(days=(block.weekday - start_day.weekday()) % 7)
        zone = _zone(block.timezone)
        starts = datetime.combine(day, block.start_time, tzinfo=zone).astimezone(reader_zone)
        ends = datetime.combine(day, block.end_time, tzinfo=zone).astimezone(reader_zone)
        hours.append(WeeklyHours(weekday=f"{starts:%A}", starts=starts, ends=ends))
    return sorted(hours, key=lambda h: (h.starts.weekday(), h.starts.time()))


def therapist_weekly_hours(*, therapist: TherapistProfile, today: date | None = None) -> list[WeeklyHours]:
    """The therapist's usual weekly hours (`therapist_availability`), in the current time zone
    (the reader's, set by accounts' middleware). One query. These are the hours she usually
    sees clients; the live open times are Calendly's, at booking (ADR 0200)."""
    reader_zone = timezone.get_current_timezone()
    today = today or timezone.localdate()
    blocks = list(TherapistAvailability.objects.filter(therapist=therapist).order_by("weekday", "start_time"))
    return weekly_hours_from_blocks(blocks, reader_zone=reader_zone, today=today)
