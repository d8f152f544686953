"""Reads for appointments. Member reads take the member and see only their own rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.risk import CareClinician

from .models import CLOSED_STATUSES, AppointmentData, TherapistProfile


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
    """One of the member's appointments; another member's raises AppointmentData.DoesNotExist."""
    return _for_member(member).get(pk=appointment_id)


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
