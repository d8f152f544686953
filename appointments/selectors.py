"""Reads for appointments. Member reads take the member and see only their own rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.risk import CareClinician

from .models import CLOSED_STATUSES, AppointmentData, AppointmentStatus, TherapistProfile


@dataclass(frozen=True)
class MemberAppointments:
    upcoming: list[AppointmentData]
    past: list[AppointmentData]
    upcoming_more: bool = False  # more upcoming sessions exist than `upcoming` holds


def _for_member(member: User) -> QuerySet[AppointmentData]:
    return AppointmentData.objects.filter(user=member).select_related("therapist")


def appointment_list_for_member(
    *, member: User, now: datetime | None = None, past_limit: int = 50, upcoming_limit: int = 50
) -> MemberAppointments:
    """The member's next sessions (soonest first, at most `upcoming_limit`) and past or closed
    ones (newest first, at most `past_limit`)."""
    now = now or timezone.now()
    upcoming = list(_for_member(member).upcoming(now=now).order_by("starts_at")[: upcoming_limit + 1])
    past = list(_for_member(member).past(now=now).order_by("-starts_at")[:past_limit])
    return MemberAppointments(
        upcoming=upcoming[:upcoming_limit], past=past, upcoming_more=len(upcoming) > upcoming_limit
    )


def appointment_get_for_member(*, member: User, appointment_id) -> AppointmentData:
    """One of the member's appointments (with its therapist, accepted policy and the booking it
    replaced); another member's raises AppointmentData.DoesNotExist."""
    return _for_member(member).select_related("policy_acceptance", "rescheduled_from").get(pk=appointment_id)


# The video link becomes a button this long before the session (docs/adr/0212).
JOIN_OPENS_BEFORE = timedelta(minutes=15)
HISTORY_LIMIT = 10


def appointment_is_changeable(*, appointment: AppointmentData, now: datetime | None = None) -> bool:
    """Whether she can still cancel or reschedule: scheduled and not yet started."""
    return appointment.status == AppointmentStatus.SCHEDULED and appointment.starts_at > (now or timezone.now())


def appointment_join_open(*, appointment: AppointmentData, now: datetime | None = None) -> bool:
    """Whether the join button shows: a scheduled video session from JOIN_OPENS_BEFORE until it ends."""
    now = now or timezone.now()
    return (
        bool(appointment.zoom_meeting_url)
        and appointment.status == AppointmentStatus.SCHEDULED
        and appointment.starts_at - JOIN_OPENS_BEFORE <= now < appointment.ends_at
    )


def appointment_history(*, appointment: AppointmentData) -> list[AppointmentData]:
    """The bookings this one replaced, most recent first ("moved from ..."), at most HISTORY_LIMIT.

    The booking it replaced is already loaded by `appointment_get_for_member`; each earlier one
    costs a query, and only sessions that were moved more than once have any.
    """
    history = []
    previous = appointment.rescheduled_from
    while previous is not None and len(history) < HISTORY_LIMIT:
        history.append(previous)
        previous = (
            AppointmentData.objects.filter(pk=previous.rescheduled_from_id).first()
            if previous.rescheduled_from_id
            else None
        )
    return history


@dataclass(frozen=True)
class ChangeTerms:
    """What cancelling or rescheduling costs her now, under the policy she accepted."""

    action: str  # "cancel" or "reschedule"
    fee: Decimal | None  # the late-cancellation fee that applies now, or None
    currency: str
    window_hours: int | None  # her policy's window; None without an accepted policy
    free_until: datetime | None  # the last moment cancelling carries no fee
    calendly_url: str
    late: bool = False  # inside her policy's window now  # where she continues ("" when Calendly gave none)


def appointment_change_terms(*, appointment: AppointmentData, action: str, now: datetime | None = None) -> ChangeTerms:
    """The fee (if any) of cancelling now, or of rescheduling (never a fee), and Calendly's link.

    Only the policy she accepted for this booking decides: without one there is no fee; inside
    its window a late-cancellation fee applies when the policy has one.
    """
    now = now or timezone.now()
    policy = appointment.policy_acceptance
    url = appointment.calendly_cancel_url if action == "cancel" else appointment.calendly_reschedule_url
    if policy is None:
        return ChangeTerms(
            action=action, fee=None, currency="usd", window_hours=None, free_until=None, calendly_url=url
        )
    free_until = appointment.starts_at - timedelta(hours=policy.window_hours)
    late = now >= free_until
    return ChangeTerms(
        action=action,
        fee=policy.late_cancel_fee if late and action == "cancel" and policy.late_cancel_fee else None,
        currency=policy.currency,
        window_hours=policy.window_hours,
        free_until=free_until,
        calendly_url=url,
        late=late,
    )


def appointment_next_for_member(*, member: User, limit: int = 3, now: datetime | None = None) -> list[AppointmentData]:
    """The member's next few sessions, for the dashboard panel (one query)."""
    return list(_for_member(member).upcoming(now=now).order_by("starts_at")[:limit])


def therapist_session_fee(therapist: TherapistProfile) -> Decimal | None:
    """What one session with her costs: her session fee, else her hourly rate; None when neither is set."""
    return therapist.session_fee if therapist.session_fee is not None else therapist.hourly_rate


def therapist_list_for_team() -> QuerySet[TherapistProfile]:
    """Every therapist on the public team page (not archived): those accepting new clients
    first, then by name. One query, whatever the number of therapists."""
    return TherapistProfile.objects.order_by(F("is_accepting_clients").desc(nulls_last=True), "display_name")


def clinician_for_member(*, member: User, now: datetime | None = None) -> CareClinician | None:
    """Her clinician for accounts' crisis routing (registered in AppConfig.ready()): the therapist
    of her next session, else of her most recent one that was not cancelled; None without any."""
    now = now or timezone.now()
    with_therapist = AppointmentData.objects.filter(user=member, therapist__isnull=False).select_related(
        "therapist__user"
    )
    appointment = (
        with_therapist.upcoming(now=now).order_by("starts_at").first()
        or with_therapist.filter(starts_at__lte=now).exclude(status__in=CLOSED_STATUSES).order_by("-starts_at").first()
    )
    if appointment is None:
        return None
    therapist = appointment.therapist
    login = therapist.user if therapist.user is not None and therapist.user.is_active else None
    return CareClinician(
        name=str(therapist), user=login, email=login.email if login is not None else "", source="appointment"
    )


def care_team_members_q(*, staff_user, prefix: str = "") -> Q:
    """Members with a session (any status) with the therapist whose login is `staff_user`, as a
    filter on `<prefix>` the user (accounts' care-team registry)."""
    clients = AppointmentData.objects.filter(therapist__user=staff_user, user__isnull=False).values("user_id")
    return Q(**{f"{prefix}pk__in": clients})
