"""Zoom deliveries for 30 meetings, shuffled and partly duplicated, through the real endpoint
and a real worker: every participant's attended time is the union of their connections.

Members reconnect and use a second device at the same time; some dial in without an email.
In every third meeting one leave is never delivered and `meeting.ended` closes that
connection instead. The expectation is computed here from the generated intervals by counting
covered seconds, independently of workshops/services/attendance.py.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory
from tests.waiting import wait_until
from tests.workshops.conftest import zoom_headers
from workshops.models import (
    AttendanceSource,
    RegistrationStatus,
    WorkshopAttendance,
    WorkshopConnectionEvent,
    ZoomWebhookEvent,
)

MEETINGS = 30
SEED = 20261124


@dataclass
class Participant:
    email: str  # "" for someone who dialled in
    name: str
    zoom_user_id: str
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)
    connection_ids: list[str] = field(default_factory=list)


def _zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # Zoom reports times to the second


def _connections(rng: random.Random, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """A laptop that drops and reconnects, sometimes a phone overlapping it, sometimes a
    second device opened and closed inside the first stretch."""
    minutes = int((end - start).total_seconds() // 60)
    at = start + timedelta(minutes=rng.randint(-5, 10), seconds=rng.randint(0, 59))
    stretches = []
    for _ in range(rng.randint(1, 3)):
        length = timedelta(minutes=rng.randint(5, minutes // 2), seconds=rng.randint(0, 59))
        stretches.append((at, at + length))
        at = at + length + timedelta(seconds=rng.choice([0, 20, 90, 300]))
    if rng.random() < 0.6:
        phone_start = start + timedelta(minutes=rng.randint(0, minutes - 10), seconds=rng.randint(0, 59))
        stretches.append((phone_start, phone_start + timedelta(minutes=rng.randint(1, 40), seconds=rng.randint(0, 59))))
    if rng.random() < 0.3:
        outer_start, outer_end = stretches[0]
        inner_start = outer_start + (outer_end - outer_start) / 3
        stretches.append((inner_start, inner_start + (outer_end - outer_start) / 4))
    return [(_whole_seconds(a), _whole_seconds(b)) for a, b in stretches]


def _payload(kind: str, meeting_id: str, participant: Participant, connection_id: str, user_id: str, at: datetime):
    time_key = "join_time" if kind == "joined" else "leave_time"
    return {
        "event": f"meeting.participant_{kind}",
        "event_ts": int(at.timestamp() * 1000) + random.Random(connection_id).randint(1, 900),
        "payload": {
            "account_id": "AbCdEf123",
            "object": {
                "id": meeting_id,
                "uuid": f"{meeting_id}-instance==",
                "host_id": "x1yCzABCDEfg23HiJKl4mN",
                "topic": "Bloom workshop",
                "type": 2,
                "start_time": _zoom_time(at),
                "timezone": "America/Los_Angeles",
                "duration": 90,
                "participant": {
                    "user_id": user_id,
                    "user_name": participant.name,
                    "id": participant.zoom_user_id,
                    "participant_uuid": connection_id,
                    time_key: _zoom_time(at),
                    "email": participant.email,
                    "participant_user_id": participant.zoom_user_id,
                },
            },
        },
    }


def _ended_payload(meeting_id: str, started: datetime, ended: datetime) -> dict:
    return {
        "event": "meeting.ended",
        "event_ts": int(ended.timestamp() * 1000) + 412,
        "payload": {
            "account_id": "AbCdEf123",
            "object": {
                "id": meeting_id,
                "uuid": f"{meeting_id}-instance==",
                "host_id": "x1yCzABCDEfg23HiJKl4mN",
                "topic": "Bloom workshop",
                "type": 2,
                "start_time": _zoom_time(started),
                "end_time": _zoom_time(ended),
                "timezone": "America/Los_Angeles",
                "duration": 90,
            },
        },
    }


def _covered_seconds(intervals) -> int:
    """Seconds covered by any interval, counted one by one (the test's own arithmetic)."""
    covered: set[int] = set()
    for start, end in intervals:
        covered.update(range(int(start.timestamp()), int(end.timestamp())))
    return len(covered)


def _build(rng: random.Random):
    """30 workshops with members and guests; returns (workshops, participants by workshop, bodies).

    A participant's `intervals` are what Bloom should count: for a leave that is never
    delivered, up to the meeting's end."""
    base = (datetime.now(UTC) - timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)
    workshops, people, bodies = [], {}, []
    user_id = 16778240
    for n in range(MEETINGS):
        starts_at = base - timedelta(days=n)
        workshop = WorkshopFactory(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90))
        workshops.append(workshop)
        people[workshop.pk] = []
        for m in range(rng.randint(2, 5)):
            member = UserFactory(email=f"member{n}-{m}@example.com")
            WorkshopRegistrationFactory(workshop=workshop, user=member)
            # Zoom reports the address in whatever case the member typed it.
            shown_email = member.email.upper() if m == 0 else member.email
            people[workshop.pk].append(Participant(shown_email, f"Member {n}-{m}", uuid.uuid4().hex[:22]))
        if rng.random() < 0.5:
            people[workshop.pk].append(Participant("", "Dial-in guest", ""))
        connections = [
            (participant, start, end)
            for participant in people[workshop.pk]
            for start, end in _connections(rng, workshop.starts_at, workshop.ends_at)
        ]
        ended_at = max(end for _, _, end in connections) + timedelta(seconds=30)
        lost_leave = rng.randrange(len(connections)) if n % 3 == 0 else None
        for index, (participant, start, end) in enumerate(connections):
            connection_id = str(uuid.UUID(int=rng.getrandbits(128))).upper()
            user_id += 1
            participant.connection_ids.append(connection_id)
            events = [("joined", start), ("left", end)]
            if index == lost_leave:
                events, end = events[:1], ended_at
            participant.intervals.append((start, end))
            for kind, at in events:
                payload = _payload(kind, workshop.zoom_meeting_id, participant, connection_id, str(user_id), at)
                bodies.append(json.dumps(payload).encode())
        if lost_leave is not None:
            bodies.append(json.dumps(_ended_payload(workshop.zoom_meeting_id, workshop.starts_at, ended_at)).encode())
    return workshops, people, bodies


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.timeout(900)  # about 900 deliveries, each a real request, on a shared 2-core machine
def test_attended_time_is_the_union_of_each_participants_connections(celery_worker_process, client):
    rng = random.Random(SEED)
    workshops, people, bodies = _build(rng)
    deliveries = bodies + rng.sample(bodies, len(bodies) // 4)  # Zoom retries a quarter of them
    rng.shuffle(deliveries)

    url = reverse("workshops:zoom_webhook")
    for n, body in enumerate(deliveries):
        # Alternate the URL with and without the slash: both are the same endpoint.
        target = url if n % 2 else url.rstrip("/")
        response = client.post(target, data=body, content_type="application/json", **zoom_headers(body))
        assert response.status_code == 200, response.content

    wait_until(
        lambda: not ZoomWebhookEvent.objects.filter(processed=False).exists(),
        timeout=600,
        interval=0.5,
        what=lambda: f"the worker to finish ({ZoomWebhookEvent.objects.filter(processed=False).count()} left)",
    )
    assert ZoomWebhookEvent.objects.count() == len(bodies)
    assert not ZoomWebhookEvent.objects.filter(processed=False).exists(), "the worker did not finish"
    outcomes = list(ZoomWebhookEvent.objects.values_list("outcome", flat=True))
    assert {outcome.split(" ")[0] for outcome in outcomes} == {"joined", "left", "ended"}
    assert WorkshopConnectionEvent.objects.count() == len(bodies)
    assert WorkshopConnectionEvent.objects.filter(kind="ended").count() == len(range(0, MEETINGS, 3))

    checked = 0
    for workshop in workshops:
        rows = {row.participant_key: row for row in WorkshopAttendance.objects.filter(workshop=workshop)}
        expected_keys = set()
        for participant in people[workshop.pk]:
            keys = (
                [f"email:{participant.email.lower()}"]
                if participant.email
                else [f"connection:{connection_id}" for connection_id in participant.connection_ids]
            )
            expected_keys.update(keys)
            if not participant.email:
                # A dial-in has no address to tie its connections together: one guest row each.
                for key, interval in zip(keys, participant.intervals, strict=True):
                    assert rows[key].duration_minutes == math.ceil(_covered_seconds([interval]) / 60)
                    assert rows[key].registration is None
                continue
            row = rows[keys[0]]
            assert row.source == AttendanceSource.ZOOM
            assert row.registration is not None and row.registration.user.email == participant.email.lower()
            assert row.registration.status == RegistrationStatus.ATTENDED
            assert row.duration_minutes == math.ceil(_covered_seconds(participant.intervals) / 60), participant
            assert row.joined_at == min(start for start, _ in participant.intervals)
            assert row.left_at == max(end for _, end in participant.intervals)
            checked += 1
        assert set(rows) == expected_keys
    assert checked >= 2 * MEETINGS
