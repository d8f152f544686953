"""Writes for "life happened" pauses (issue 13): start one in one click, end it early in one click.

While a pause lasts, course drips and expiries, email sequences and non-clinical reminders and nudges
are frozen; afterwards they resume shifted by exactly the pause:

- course drips are computed through `accounts.selectors.pause_shifted` (nothing is rewritten);
- sequence steps still to come are moved by the pause when it starts, and back by what was left
  when she ends it early (`notifications.services.sequence_enrollments_shift`);
- access expiries are moved by the handlers other apps register here (courses moves its
  enrollments' `access_expires_at`), in the same transaction;
- newsletters and low-priority nudges to her are not queued while it lasts (notifications asks
  `member_is_paused` through its registry); screening reminders wait until she is back.

Appointments, their reminders, clinical mail and crisis routing never pause.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from bloom.exceptions import ApplicationError
from notifications.services import sequence_enrollments_shift

from ..models import MemberPause, User
from ..selectors.pauses import member_pause_get_active

PAUSE_WEEKS = (1, 2, 3, 4, 6, 8, 12)

# fn(*, member, by: timedelta, not_before: datetime | None) -> None, registered in AppConfig.ready().
PauseShiftHandler = Callable[..., None]
_shift_handlers: list[PauseShiftHandler] = []


def register_pause_shift_handler(fn: PauseShiftHandler) -> None:
    """Higher apps (courses) move their own dates when a pause starts or ends early."""
    if fn not in _shift_handlers:
        _shift_handlers.append(fn)


def _shift(*, member: User, by: datetime.timedelta, not_before: datetime.datetime | None = None) -> None:
    sequence_enrollments_shift(user=member, by=by, not_before=not_before)
    for handler in list(_shift_handlers):
        handler(member=member, by=by, not_before=not_before)


def member_pause_start(
    *, member: User, weeks: int, reason: str = "", now: datetime.datetime | None = None
) -> MemberPause:
    """Start a pause of `weeks` weeks now. Refused while another pause is in force.

    Guarantees: one pause in force per member (her user row is locked while checking); sequence
    steps and registered expiries move by the whole pause in the same transaction.
    """
    if weeks not in PAUSE_WEEKS:
        raise ApplicationError("Choose how long your break should be: between 1 and 12 weeks.")
    now = now or timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=member.pk).first()
        current = member_pause_get_active(member=member, now=now)
        if current is not None:
            raise ApplicationError(
                f"You're already taking a break, until {timezone.localtime(current.ends_at):%-d %B}."
            )
        pause = MemberPause.objects.create(
            user=member, starts_at=now, ends_at=now + datetime.timedelta(weeks=weeks), reason=reason.strip()[:500]
        )
        _shift(member=member, by=pause.ends_at - now)
    return pause


def member_pause_end(*, member: User, now: datetime.datetime | None = None) -> MemberPause | None:
    """End her pause now, before the end she chose. Returns it, or None when none was in force.

    What was moved by the whole pause moves back by the part not taken, never into the past.
    """
    now = now or timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=member.pk).first()
        pause = member_pause_get_active(member=member, now=now)
        if pause is None:
            return None
        remaining = pause.ends_at - now
        pause.ended_at = now
        pause.save(update_fields=["ended_at"])
        _shift(member=member, by=-remaining, not_before=now)
    return pause
