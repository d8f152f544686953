"""Attendance from Zoom: a participant's time in a meeting is the union of their connections.

Zoom reports each device a participant uses, and each reconnect, as a connection with an id
of its own (`participant_uuid`, else `user_id`), and delivers the joins and leaves late,
twice and out of order. Bloom stores every join and leave as a `WorkshopConnectionEvent` and
recomputes the participant's one Zoom `WorkshopAttendance` row from all of them whenever one
arrives (docs/adr/0054):

- a connection's interval runs from its join to its own leave, paired by connection id in
  time order, never in the order the deliveries came;
- attended time is the union of the participant's intervals: a phone and a laptop connected
  at once count once, the gap between a drop and a reconnect does not count;
- a connection that joined and has not left is not counted until it is closed, by its own
  leave or by the meeting's end (`meeting.ended`, which closes every connection still open
  at its `end_time`; a meeting can end, restart and end again).

Staff may also mark a seat attended or no-show by hand (`registration_mark_attended`, a manual
attendance row). The interval functions are pure; the services store and recompute.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import User
from bloom.exceptions import ApplicationError

from ..models import (
    AttendanceSource,
    ConnectionEventKind,
    RegistrationStatus,
    Workshop,
    WorkshopAttendance,
    WorkshopConnectionEvent,
    WorkshopRegistration,
)
from ..selectors import registration_active_q
from .seats import workshop_lock

Interval = tuple[datetime, datetime]

JOINED, LEFT, ENDED = ConnectionEventKind.JOINED, ConnectionEventKind.LEFT, ConnectionEventKind.ENDED


def intervals_union(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of closed intervals, as sorted disjoint intervals.

    Overlapping, nested and touching intervals merge into one; a duplicate counts once.
    Raises ValueError for an interval that ends before it starts.
    """
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end < start:
            raise ValueError(f"interval ends before it starts: {start} > {end}")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def union_seconds(intervals: Iterable[Interval]) -> float:
    """Seconds covered by at least one of the intervals."""
    return sum((end - start).total_seconds() for start, end in intervals_union(intervals))


def connection_intervals(events: Iterable[tuple[str, datetime]]) -> tuple[list[Interval], datetime | None]:
    """Pair one connection's (kind, at) joins and leaves into intervals, in time order.

    A leave, or the meeting's end, closes the interval the connection has open. At one
    instant a close comes before a join reopens (a reconnect reusing the id), and a join with
    nothing open pairs with a close at that same instant. A leave with nothing open is waiting
    for its join and makes no interval; a second join while open keeps the earlier start.
    Returns the closed intervals and the start of the interval still open, if any.
    """
    kinds_at: dict[datetime, set[str]] = defaultdict(set)
    for kind, at in events:
        kinds_at[at].add(kind)
    closed: list[Interval] = []
    open_at: datetime | None = None
    for at in sorted(kinds_at):
        kinds = kinds_at[at]
        unpaired_leave = LEFT in kinds or ENDED in kinds
        if unpaired_leave and open_at is not None:
            closed.append((open_at, at))
            open_at, unpaired_leave = None, False
        if JOINED in kinds and open_at is None:
            open_at = at
        if unpaired_leave and open_at is not None:
            closed.append((open_at, at))
            open_at = None
    return closed, open_at


@dataclass(frozen=True)
class AttendanceFigures:
    """What one participant's connection events add up to."""

    joined_at: datetime | None  # the first join
    left_at: datetime | None  # the last leave or close, once no connection is still open
    intervals: list[Interval]  # the union of the closed connections' intervals
    still_connected: bool

    @property
    def seconds(self) -> float:
        return sum((end - start).total_seconds() for start, end in self.intervals)

    @property
    def minutes(self) -> int | None:
        """Attended minutes, rounded up as `minutes_between` does; None before a connection closed."""
        if not self.intervals:
            return None
        return math.ceil(self.seconds / 60)


def attendance_figures(
    events: Iterable[tuple[str, str, datetime]], meeting_ends: Iterable[datetime] = ()
) -> AttendanceFigures:
    """Figures for one participant from their (connection id, kind, at) events, in any order,
    and the times the meeting ended (each closes whatever is open at that moment)."""
    meeting_ends = list(meeting_ends)
    by_connection: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    joins, leaves = [], []
    for connection_id, kind, at in events:
        by_connection[connection_id].append((kind, at))
        (joins if kind == JOINED else leaves).append(at)
    closed: list[Interval] = []
    still_connected = False
    for connection_events in by_connection.values():
        intervals, open_at = connection_intervals(connection_events + [(ENDED, end) for end in meeting_ends])
        closed += intervals
        still_connected = still_connected or open_at is not None
    last_close = max([end for _, end in closed] + leaves, default=None)
    return AttendanceFigures(
        joined_at=min(joins, default=None),
        left_at=None if still_connected else last_close,
        intervals=intervals_union(closed),
        still_connected=still_connected,
    )


# --- services ----------------------------------------------------------------------------


def participant_key_for(*, email: str, registrant_id: str, connection_id: str) -> str:
    """Whose connection this is: the email Zoom reports (members are matched by it), else
    Zoom's registrant id, else the connection alone (a guest who dialled in)."""
    if email:
        return f"email:{email.strip().lower()}"
    if registrant_id:
        return f"registrant:{registrant_id}"
    return f"connection:{connection_id}"


def _advisory_lock(name: str, *, shared: bool = False) -> None:
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtextextended(%s, 0))", [name])


# Two workers applying the same participant's events at once would each recompute without
# the other's event: a transaction-scoped lock per participant serialises them. The shared
# workshop lock, taken first, lets a meeting's end (which takes it exclusively) wait for, and
# be seen by, every recompute in flight. A connection belongs to the participant its first
# stored event named (else `participant_key_for`'s key): one statement finds the key and takes
# both locks in that order (PostgreSQL evaluates the select list left to right).
_KEY_AND_LOCKS_SQL = """
SELECT k.participant_key,
       pg_advisory_xact_lock_shared(hashtextextended(%s, 0)),
       pg_advisory_xact_lock(hashtextextended(%s || k.participant_key, 0))
FROM (SELECT COALESCE(
    (SELECT participant_key FROM workshop_connection_events WHERE workshop_id = %s AND connection_id = %s LIMIT 1),
    %s
) AS participant_key) AS k
"""

# The same event again (a retried delivery, or a worker holding another participant's lock
# that stored it meanwhile) inserts nothing: the unique constraint
# workshop_connection_events_once decides, without a savepoint or a read before.
_EVENT_INSERT_SQL = """
INSERT INTO workshop_connection_events
    (id, workshop_id, participant_key, connection_id, kind, at, participant_email, participant_name,
     registrant_id, created_at)
VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, %s, now())
ON CONFLICT (workshop_id, connection_id, kind, at) DO NOTHING
RETURNING id
"""


def _participant_key_lock(workshop: Workshop, *, connection_id: str, fallback: str) -> str:
    """The connection's participant key, with the participant's locks held (see above)."""
    lock = f"workshop_attendance:{workshop.pk}"
    with connection.cursor() as cursor:
        cursor.execute(_KEY_AND_LOCKS_SQL, [lock, f"{lock}:", workshop.pk, connection_id, fallback])
        return cursor.fetchone()[0]


def _member_registration(workshop: Workshop, email: str) -> tuple[User | None, WorkshopRegistration | None]:
    """The member with this email and her active registration for the workshop.

    One query when she has no registration (or there is no such member), two when she has.
    """
    if not email:
        return None, None
    active = WorkshopRegistration.objects.filter(registration_active_q(member=OuterRef("pk")), workshop=workshop)
    user = (
        User.objects.filter(email__iexact=email)
        .annotate(active_registration_id=Subquery(active.order_by("pk").values("pk")[:1]))
        .first()
    )
    if user is None:
        return None, None
    if user.active_registration_id is None:
        return user, None
    return user, WorkshopRegistration.objects.get(pk=user.active_registration_id)


@transaction.atomic(savepoint=False)
def attendance_recompute(*, workshop: Workshop, participant_key: str) -> WorkshopAttendance | None:
    """Rewrite one participant's Zoom attendance row from all their stored connection events
    and the meeting's ends.

    Creates the row on the participant's first event, then updates it in place; the result
    depends only on the stored events, never on their arrival order or on the previous
    figures. Links the row to the member and their active registration when the reported
    email belongs to a member (a link once made is kept if the seat is later cancelled).
    Callers hold the participant's lock (`attendance_connection_record` does). Returns None
    when the participant has no events.
    """
    # The participant's events and the meeting's ends in one query (an end has no connection
    # and no participant: workshop_connection_events_end_has_no_connection).
    rows = list(
        WorkshopConnectionEvent.objects.filter(workshop=workshop)
        .filter(Q(participant_key=participant_key) | Q(connection_id="", kind=ENDED))
        .order_by("at", "created_at")
    )
    events = [row for row in rows if row.participant_key == participant_key]
    if not events:
        return None
    meeting_ends = [row.at for row in rows if row.kind == ENDED]
    figures = attendance_figures(((event.connection_id, event.kind, event.at) for event in events), meeting_ends)
    email = next((event.participant_email for event in events if event.participant_email), "")
    name = next((event.participant_name for event in reversed(events) if event.participant_name), "")
    first = next((event for event in events if event.kind == JOINED), events[0])
    user, registration = _member_registration(workshop, email)
    row = WorkshopAttendance.objects.filter(
        workshop=workshop, source=AttendanceSource.ZOOM, participant_key=participant_key
    ).first()
    values = {
        "joined_at": figures.joined_at,
        "left_at": figures.left_at,
        "duration_minutes": figures.minutes,
        "participant_email": email,
        "participant_name": name[:200],
        "zoom_participant_id": first.connection_id,
        "user": user or (row.user if row else None),
        "registration": registration or (row.registration if row else None),
    }
    if row is None:
        return WorkshopAttendance.objects.create(
            workshop=workshop, source=AttendanceSource.ZOOM, participant_key=participant_key, **values
        )
    for field, value in values.items():
        setattr(row, field, value)
    row.save(update_fields=list(values))
    return row


@transaction.atomic(savepoint=False)
def attendance_connection_record(
    *,
    workshop: Workshop,
    kind: str,
    at: datetime,
    connection_id: str,
    email: str = "",
    name: str = "",
    registrant_id: str = "",
) -> tuple[WorkshopAttendance | None, bool]:
    """Store one join or leave of a Zoom connection and recompute its participant's row.

    Idempotent: the same event again stores nothing, leaves the row as it was and returns
    created=False. Order-independent: the row is recomputed from every stored event of the
    participant (`attendance_recompute`). Serialised per participant with a transaction-scoped
    advisory lock, so concurrent workers cannot lose an event. A connection belongs to the
    participant its first stored event named. A new join marks the member's registration
    attended and recounts their series progress after commit. Returns (row, created).
    """
    email = email.strip().lower()
    participant_key = _participant_key_lock(
        workshop,
        connection_id=connection_id,
        fallback=participant_key_for(email=email, registrant_id=registrant_id, connection_id=connection_id),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _EVENT_INSERT_SQL,
            [workshop.pk, participant_key, connection_id, kind, at, email, name[:200], registrant_id[:200]],
        )
        created = cursor.fetchone() is not None
    if not created:
        return WorkshopAttendance.objects.filter(
            workshop=workshop, source=AttendanceSource.ZOOM, participant_key=participant_key
        ).first(), False
    attendance = attendance_recompute(workshop=workshop, participant_key=participant_key)
    if kind == JOINED and _registration_mark_attended(attendance.registration):
        _series_progress_after_commit(workshop, attendance.user_id)
    return attendance, True


@transaction.atomic
def attendance_meeting_end_record(*, workshop: Workshop, ended_at: datetime) -> int:
    """Store that the workshop's meeting ended at `ended_at` and recompute every participant.

    Each connection still open at that moment counts up to `ended_at`; a leave that arrives
    later with an earlier time still closes its connection where it really left. Idempotent:
    the same end again stores and recomputes nothing. Takes the workshop's attendance lock
    exclusively, so no participant's recompute runs without it. Returns the number of rows
    recomputed.
    """
    _advisory_lock(f"workshop_attendance:{workshop.pk}")
    _, created = WorkshopConnectionEvent.objects.get_or_create(
        workshop=workshop, connection_id="", kind=ENDED, at=ended_at, defaults={"participant_key": ""}
    )
    if not created:
        return 0
    keys = (
        WorkshopConnectionEvent.objects.filter(workshop=workshop)
        .exclude(kind=ENDED)
        .order_by()
        .values_list("participant_key", flat=True)
        .distinct()
    )
    return sum(1 for key in keys if attendance_recompute(workshop=workshop, participant_key=key) is not None)


# --- Marked by staff ------------------------------------------------------------------


def minutes_between(joined_at: datetime | None, left_at: datetime | None) -> int | None:
    if joined_at is None or left_at is None:
        return None
    return max(math.ceil((left_at - joined_at).total_seconds() / 60), 0)


def _registration_mark_attended(registration: WorkshopRegistration | None) -> bool:
    """Mark a seat attended; returns True when the status changed."""
    if registration is None or registration.status not in (RegistrationStatus.REGISTERED, RegistrationStatus.NO_SHOW):
        return False
    WorkshopRegistration.objects.filter(pk=registration.pk).update(
        status=RegistrationStatus.ATTENDED, updated_at=timezone.now()
    )
    registration.status = RegistrationStatus.ATTENDED
    return True


def _series_progress_after_commit(workshop: Workshop, user_id) -> None:
    if workshop.series_id is None or user_id is None:
        return
    from bloom.tasks import enqueue

    from ..tasks import series_progress_update_task

    enqueue(series_progress_update_task, str(user_id), str(workshop.series_id))


def _refuse_before_start(workshop: Workshop, what: str) -> None:
    if workshop.starts_at > timezone.now():
        starts = timezone.localtime(workshop.starts_at).strftime("%B %-d, %Y at %-I:%M %p %Z")
        raise ApplicationError(
            f"{workshop.title} has not started yet (it starts {starts}), so nobody can be {what}. "
            "Try again once the session has begun."
        )


@transaction.atomic
def registration_mark_attended(*, registration: WorkshopRegistration) -> WorkshopRegistration:
    """Staff mark a member present: status attended plus a manual attendance row (once).

    Refused (ApplicationError) before the workshop has started: nobody can have attended a
    session that has not begun. During the session the row runs from the start to now, not to
    the planned end, so no minutes are recorded that have not happened yet.
    """
    workshop = workshop_lock(registration.workshop_id)
    _refuse_before_start(workshop, "marked attended")
    locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
    if _registration_mark_attended(locked):
        if not WorkshopAttendance.objects.filter(registration=locked).exists():
            left_at = min(workshop.ends_at, timezone.now())
            WorkshopAttendance.objects.create(
                workshop=workshop,
                registration=locked,
                user=locked.user,
                participant_email=locked.user.email,
                joined_at=workshop.starts_at,
                left_at=left_at,
                duration_minutes=minutes_between(workshop.starts_at, left_at),
                source=AttendanceSource.MANUAL,
            )
        _series_progress_after_commit(workshop, locked.user_id)
    return locked


@transaction.atomic
def registration_mark_no_show(*, registration: WorkshopRegistration) -> WorkshopRegistration:
    """Staff mark a seated member absent. Only a registered seat becomes a no-show, and only once
    the workshop has started (ApplicationError before)."""
    _refuse_before_start(workshop_lock(registration.workshop_id), "marked as a no-show")
    locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
    if locked.status == RegistrationStatus.REGISTERED:
        locked.status = RegistrationStatus.NO_SHOW
        locked.save(update_fields=["status", "updated_at"])
    return locked
