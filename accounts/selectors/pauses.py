"""Reads for "life happened" pauses: her current pause, her pauses, and dates shifted by them."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..models import MemberPause


def _active(now: datetime.datetime) -> Q:
    return Q(starts_at__lte=now, ends_at__gt=now, ended_at__isnull=True)


def member_pause_get_active(*, member, now: datetime.datetime | None = None) -> MemberPause | None:
    """Her pause in force now, or None (one query)."""
    if member is None or not getattr(member, "pk", None):
        return None
    return MemberPause.objects.filter(_active(now or timezone.now()), user=member).first()


def member_is_paused(*, user) -> bool:
    """Whether this account is on a pause now (notifications asks through its registry)."""
    return member_pause_get_active(member=user) is not None


def members_paused_many(*, users) -> set:
    """The primary keys of those of `users` on a pause now (one query): `member_is_paused` for many."""
    pks = [user.pk for user in users if getattr(user, "pk", None)]
    if not pks:
        return set()
    return set(MemberPause.objects.filter(_active(timezone.now()), user_id__in=pks).values_list("user_id", flat=True))


def member_pause_list_for_member(*, member) -> list[MemberPause]:
    """All her pauses, oldest first (one query): what `pause_shifted` needs."""
    return list(MemberPause.objects.filter(user=member).order_by("starts_at"))


def paused_members_exist(*, user_ref: str = "pk", now: datetime.datetime | None = None) -> Exists:
    """`Exists(...)` for querysets: true for rows whose `user_ref` is a member on a pause now."""
    return Exists(MemberPause.objects.filter(_active(now or timezone.now()), user=OuterRef(user_ref)))


def pause_shifted(moment: datetime.datetime | None, *, pauses: list[MemberPause]) -> datetime.datetime | None:
    """`moment` (a drip date, an expiry) moved later by every pause that began before it arrived.

    A date before a pause is untouched (what was open stays open); a date that falls in or after
    a pause moves by that pause's whole length, so time on a pause never counts. Pauses are taken
    oldest first, so a date pushed into a later pause moves again.
    """
    if moment is None:
        return None
    for pause in sorted(pauses, key=lambda p: p.starts_at):
        if pause.starts_at <= moment:
            moment += pause.duration
    return moment
