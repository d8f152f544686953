"""Attendance as the union of a participant's Zoom connections (workshops/services/attendance.py).

The pure functions first, then the service against PostgreSQL, then Zoom-shaped deliveries
through the Zoom provider (`workshops.webhooks.PROVIDER.process`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory, WorkshopSeriesFactory
from tests.workshops.conftest import participant_event
from workshops.models import (
    RegistrationStatus,
    WorkshopAttendance,
    WorkshopConnectionEvent,
    ZoomWebhookEvent,
)
from workshops.services.attendance import (
    attendance_connection_record,
    attendance_figures,
    connection_intervals,
    intervals_union,
    union_seconds,
)
from workshops.webhooks import PROVIDER as zoom

DAY = datetime(2026, 11, 24, tzinfo=UTC)


def t(hhmm: str, seconds: int = 0) -> datetime:
    hours, minutes = hhmm.split(":")
    return DAY.replace(hour=int(hours), minute=int(minutes), second=seconds)


# --- the union -------------------------------------------------------------------------------


def test_union_of_the_out_of_order_example():
    # Connection A 18:04-18:18, connection B (the reconnect) 18:20-18:24.
    assert intervals_union([(t("18:20"), t("18:24")), (t("18:04"), t("18:18"))]) == [
        (t("18:04"), t("18:18")),
        (t("18:20"), t("18:24")),
    ]
    assert union_seconds([(t("18:20"), t("18:24")), (t("18:04"), t("18:18"))]) == 18 * 60


def test_nested_interval_counts_once():
    laptop, phone = (t("18:00"), t("19:00")), (t("18:10"), t("18:20"))
    assert intervals_union([laptop, phone]) == [laptop]
    assert union_seconds([phone, laptop]) == 3600


def test_overlapping_intervals_merge():
    assert intervals_union([(t("18:00"), t("18:30")), (t("18:20"), t("18:50"))]) == [(t("18:00"), t("18:50"))]


def test_touching_intervals_merge_into_one():
    assert intervals_union([(t("18:10"), t("18:20")), (t("18:00"), t("18:10"))]) == [(t("18:00"), t("18:20"))]
    assert union_seconds([(t("18:10"), t("18:20")), (t("18:00"), t("18:10"))]) == 1200


def test_duplicate_intervals_count_once():
    stretch = (t("18:00"), t("18:45"))
    assert intervals_union([stretch, stretch, stretch]) == [stretch]
    assert union_seconds([stretch, stretch]) == 45 * 60


def test_disjoint_intervals_stay_apart_and_sorted():
    early, late = (t("18:00"), t("18:05")), (t("18:06"), t("18:07"))
    assert intervals_union([late, early]) == [early, late]
    assert union_seconds([late, early]) == 6 * 60


def test_empty_and_zero_length():
    assert intervals_union([]) == []
    assert union_seconds([(t("18:00"), t("18:00"))]) == 0


def test_an_interval_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends before it starts"):
        intervals_union([(t("18:10"), t("18:00"))])


# --- pairing a connection's joins and leaves -------------------------------------------------


def test_pairing_ignores_arrival_order():
    arrivals = [("joined", t("18:04")), ("left", t("18:24")), ("left", t("18:18")), ("joined", t("18:20"))]
    # Even if Zoom reused one id for both stretches, time order pairs each leave with its join.
    assert connection_intervals(arrivals) == ([(t("18:04"), t("18:18")), (t("18:20"), t("18:24"))], None)


def test_a_leave_waiting_for_its_join_makes_no_interval():
    assert connection_intervals([("left", t("18:30"))]) == ([], None)


def test_a_join_without_its_leave_is_still_open():
    assert connection_intervals([("joined", t("18:05"))]) == ([], t("18:05"))


def test_a_second_join_while_open_keeps_the_earlier_start():
    events = [("joined", t("18:00")), ("joined", t("18:10")), ("left", t("18:30"))]
    assert connection_intervals(events) == ([(t("18:00"), t("18:30"))], None)


def test_leave_and_join_at_one_instant_is_a_reconnect():
    events = [("joined", t("18:00")), ("joined", t("18:10")), ("left", t("18:10")), ("left", t("18:30"))]
    assert connection_intervals(events) == ([(t("18:00"), t("18:10")), (t("18:10"), t("18:30"))], None)


def test_join_and_leave_at_one_instant_is_a_zero_length_connection():
    assert connection_intervals([("left", t("18:10")), ("joined", t("18:10"))]) == ([(t("18:10"), t("18:10"))], None)


def test_the_meeting_end_closes_what_is_still_open():
    events = [("joined", t("18:00")), ("ended", t("19:30"))]
    assert connection_intervals(events) == ([(t("18:00"), t("19:30"))], None)


def test_a_real_leave_before_the_end_wins():
    events = [("joined", t("18:00")), ("ended", t("19:30")), ("left", t("18:40"))]
    assert connection_intervals(events) == ([(t("18:00"), t("18:40"))], None)


def test_an_end_before_a_join_closes_nothing_and_a_restarted_meeting_counts_both_parts():
    assert connection_intervals([("ended", t("17:50")), ("joined", t("18:00"))]) == ([], t("18:00"))
    events = [("joined", t("18:00")), ("ended", t("18:30")), ("joined", t("18:45")), ("left", t("19:00"))]
    assert connection_intervals(events) == ([(t("18:00"), t("18:30")), (t("18:45"), t("19:00"))], None)


def test_figures_count_overlapping_devices_once():
    figures = attendance_figures(
        [
            ("laptop", "joined", t("18:00")),
            ("phone", "joined", t("18:20")),
            ("laptop", "left", t("18:40")),
            ("phone", "left", t("18:50")),
        ]
    )
    assert figures.intervals == [(t("18:00"), t("18:50"))]
    assert (figures.joined_at, figures.left_at, figures.minutes, figures.still_connected) == (
        t("18:00"),
        t("18:50"),
        50,
        False,
    )


def test_figures_while_a_device_is_still_connected():
    figures = attendance_figures(
        [("phone", "joined", t("18:00")), ("phone", "left", t("18:15")), ("laptop", "joined", t("18:10"))]
    )
    assert (figures.joined_at, figures.left_at, figures.minutes, figures.still_connected) == (
        t("18:00"),
        None,
        15,
        True,
    )


def test_figures_close_every_open_connection_at_the_meeting_end():
    figures = attendance_figures(
        [("phone", "joined", t("18:00")), ("phone", "left", t("18:15")), ("laptop", "joined", t("18:10"))],
        meeting_ends=[t("19:00")],
    )
    assert (figures.joined_at, figures.left_at, figures.minutes, figures.still_connected) == (
        t("18:00"),
        t("19:00"),
        60,
        False,
    )


def test_minutes_round_up_and_are_none_before_anything_closed():
    assert attendance_figures([("a", "joined", t("18:00")), ("a", "left", t("18:00", 1))]).minutes == 1
    assert attendance_figures([("a", "joined", t("18:00"))]).minutes is None
    assert attendance_figures([("a", "left", t("18:00"))]).minutes is None


# --- the service -----------------------------------------------------------------------------

EXAMPLE = [
    ("joined", "18:04", "conn-a"),
    ("left", "18:24", "conn-b"),
    ("left", "18:18", "conn-a"),
    ("joined", "18:20", "conn-b"),
]


def _record(workshop, kind, hhmm, connection_id, email="maya@example.com"):
    at = workshop.starts_at.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))
    return attendance_connection_record(
        workshop=workshop, kind=kind, at=at, connection_id=connection_id, email=email, name="Maya"
    )


@pytest.mark.django_db
def test_every_delivery_order_of_the_example_gives_the_same_row():
    member = UserFactory(email="maya@example.com")
    for order in itertools.permutations(EXAMPLE):
        workshop = WorkshopFactory()
        registration = WorkshopRegistrationFactory(workshop=workshop, user=member)
        for kind, hhmm, connection_id in order:
            _record(workshop, kind, hhmm, connection_id)
        row = WorkshopAttendance.objects.get(workshop=workshop)
        day = workshop.starts_at
        assert (row.joined_at, row.left_at, row.duration_minutes) == (
            day.replace(hour=18, minute=4),
            day.replace(hour=18, minute=24),
            18,
        ), order
        assert (row.registration, row.user, row.participant_key) == (registration, member, "email:maya@example.com")
    assert WorkshopAttendance.objects.count() == 24


@pytest.mark.django_db
def test_a_late_leave_recomputes_the_row():
    workshop = WorkshopFactory()
    _record(workshop, "joined", "18:00", "laptop")
    _record(workshop, "joined", "18:30", "phone")
    _record(workshop, "left", "18:40", "phone")
    row = WorkshopAttendance.objects.get()
    assert (row.left_at, row.duration_minutes) == (None, 10)  # the laptop is still connected

    _record(workshop, "left", "19:00", "laptop")  # arrives last, though the laptop joined first
    row.refresh_from_db()
    assert (row.joined_at.hour, row.joined_at.minute, row.left_at.hour, row.duration_minutes) == (18, 0, 19, 60)


@pytest.mark.django_db
def test_the_meeting_end_counts_open_connections_up_to_it_until_their_leave_arrives():
    from workshops.services.attendance import attendance_meeting_end_record

    workshop = WorkshopFactory()
    _record(workshop, "joined", "18:00", "laptop")
    _record(workshop, "joined", "18:05", "guest-phone", email="")
    ended_at = workshop.starts_at.replace(hour=19, minute=30)
    assert attendance_meeting_end_record(workshop=workshop, ended_at=ended_at) == 2
    assert attendance_meeting_end_record(workshop=workshop, ended_at=ended_at) == 0  # the same end again
    rows = {row.participant_key: row for row in WorkshopAttendance.objects.all()}
    assert (rows["email:maya@example.com"].duration_minutes, rows["email:maya@example.com"].left_at) == (90, ended_at)
    assert rows["connection:guest-phone"].duration_minutes == 85

    _record(workshop, "left", "18:50", "laptop")  # the real leave, delivered after the end
    member_row = WorkshopAttendance.objects.get(participant_key="email:maya@example.com")
    assert (member_row.duration_minutes, member_row.left_at.minute) == (50, 50)

    _record(workshop, "joined", "19:45", "tablet")  # after the end: a restarted meeting, still open
    member_row.refresh_from_db()
    assert (member_row.duration_minutes, member_row.left_at) == (50, None)


@pytest.mark.django_db
def test_the_same_event_twice_changes_nothing(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("workshops.tasks.series_progress_update_task.delay", lambda *ids: queued.append(ids))
    member = UserFactory(email="maya@example.com")
    workshop = WorkshopFactory(series=WorkshopSeriesFactory())
    registration = WorkshopRegistrationFactory(workshop=workshop, user=member)
    with django_capture_on_commit_callbacks(execute=True):
        first, created = _record(workshop, "joined", "18:00", "laptop")
    assert created
    with django_capture_on_commit_callbacks(execute=True):
        again, created_again = _record(workshop, "joined", "18:00", "laptop")
    assert (again, created_again) == (first, False)
    assert WorkshopConnectionEvent.objects.count() == 1
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.ATTENDED
    assert queued == [(str(member.pk), str(workshop.series_id))]


@pytest.mark.django_db
def test_participants_without_an_email_stay_apart_from_members():
    member = UserFactory(email="maya@example.com")
    workshop = WorkshopFactory()
    WorkshopRegistrationFactory(workshop=workshop, user=member)
    _record(workshop, "joined", "18:00", "laptop")
    _record(workshop, "left", "18:30", "laptop")
    _record(workshop, "joined", "18:00", "dial-in-1", email="")
    _record(workshop, "left", "18:50", "dial-in-1", email="")
    _record(workshop, "joined", "18:10", "dial-in-2", email="")
    _record(workshop, "left", "18:20", "dial-in-2", email="")

    rows = {row.participant_key: row for row in WorkshopAttendance.objects.all()}
    assert {key: row.duration_minutes for key, row in rows.items()} == {
        "email:maya@example.com": 30,
        "connection:dial-in-1": 50,
        "connection:dial-in-2": 10,
    }
    assert rows["email:maya@example.com"].user == member
    assert rows["connection:dial-in-1"].user is None and rows["connection:dial-in-1"].registration is None


@pytest.mark.django_db
def test_a_connection_stays_with_the_participant_its_first_event_named():
    workshop = WorkshopFactory()
    _record(workshop, "joined", "18:00", "laptop", email="maya@example.com")
    _record(workshop, "left", "18:45", "laptop", email="")  # Zoom left the email off the leave
    row = WorkshopAttendance.objects.get()
    assert (row.participant_key, row.duration_minutes) == ("email:maya@example.com", 45)


@pytest.mark.django_db
def test_a_registrant_id_joins_connections_that_have_no_email():
    workshop = WorkshopFactory()
    for kind, hhmm, connection_id in [("joined", "18:00", "a"), ("left", "18:20", "a"), ("joined", "18:10", "b")]:
        at = workshop.starts_at.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))
        attendance_connection_record(
            workshop=workshop, kind=kind, at=at, connection_id=connection_id, registrant_id="R1"
        )
    row = WorkshopAttendance.objects.get()
    assert (row.participant_key, row.duration_minutes, row.left_at) == ("registrant:R1", 20, None)


@pytest.mark.django_db
def test_staff_recorded_rows_are_left_alone():
    from workshops.services import registration_mark_attended

    member = UserFactory(email="maya@example.com")
    # Staff mark attendance only once the session has begun: this one was held yesterday.
    workshop = WorkshopFactory(starts_at=(timezone.now() - timedelta(days=1)).replace(second=0, microsecond=0))
    registration = WorkshopRegistrationFactory(workshop=workshop, user=member)
    registration_mark_attended(registration=registration)
    _record(workshop, "joined", "18:00", "laptop")
    _record(workshop, "left", "18:05", "laptop")
    assert sorted(WorkshopAttendance.objects.values_list("source", "duration_minutes")) == [
        ("manual", 90),
        ("zoom", 5),
    ]


# --- through Zoom's deliveries ---------------------------------------------------------------


def _zoom_at(workshop, hhmm: str) -> str:
    moment = workshop.starts_at.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.django_db
def test_out_of_order_deliveries_of_the_example_give_one_row_of_18_minutes():
    """joined 18:04 / left 18:24 / left 18:18 / joined 18:20, delivered in that order."""
    member = UserFactory(email="maya@example.com")
    workshop = WorkshopFactory(starts_at=DAY.replace(hour=18), ends_at=DAY.replace(hour=19, minute=30))
    registration = WorkshopRegistrationFactory(workshop=workshop, user=member)
    outcomes = []
    for n, (kind, hhmm, connection_id) in enumerate(EXAMPLE):
        payload = participant_event(
            f"meeting.participant_{kind}",
            meeting_id=workshop.zoom_meeting_id,
            email="Maya@Example.com",
            at=_zoom_at(workshop, hhmm),
            participant_uuid=connection_id,
            event_ts=1_764_000_000_000 + n,
        )
        event = ZoomWebhookEvent.objects.create(
            zoom_event_id=f"example-{n}", event_type=payload["event"], event_data=payload
        )
        outcomes.append(zoom.process(event_id=str(event.pk)))

    assert outcomes == ["joined", "left", "left", "joined"]
    row = WorkshopAttendance.objects.get()
    assert (row.registration, row.joined_at, row.left_at, row.duration_minutes) == (
        registration,
        DAY.replace(hour=18, minute=4),
        DAY.replace(hour=18, minute=24),
        18,
    )
    assert sorted(WorkshopConnectionEvent.objects.values_list("connection_id", "kind", "at__hour", "at__minute")) == [
        ("conn-a", "joined", 18, 4),
        ("conn-a", "left", 18, 18),
        ("conn-b", "joined", 18, 20),
        ("conn-b", "left", 18, 24),
    ]


@pytest.mark.django_db
def test_a_meeting_ended_delivery_closes_open_connections():
    workshop = WorkshopFactory(starts_at=DAY.replace(hour=18), ends_at=DAY.replace(hour=19, minute=30))
    joined = participant_event(
        "meeting.participant_joined",
        meeting_id=workshop.zoom_meeting_id,
        email="maya@example.com",
        at="2026-11-24T18:10:00Z",
    )
    ended = {
        "event": "meeting.ended",
        "event_ts": 1_764_010_000_000,
        "payload": {
            "account_id": "AbCdEf123",
            "object": {
                "id": workshop.zoom_meeting_id,
                "uuid": "4444AAAiAAAAAiAiAiiAii==",
                "host_id": "x1yCzABCDEfg23HiJKl4mN",
                "topic": "Bloom workshop",
                "type": 2,
                "start_time": "2026-11-24T17:58:00Z",
                "end_time": "2026-11-24T19:34:00Z",
                "timezone": "America/Los_Angeles",
                "duration": 90,
            },
        },
    }
    outcomes = []
    for n, payload in enumerate([ended, joined]):  # the end is delivered before the join
        event = ZoomWebhookEvent.objects.create(
            zoom_event_id=f"end-{n}", event_type=payload["event"], event_data=payload
        )
        outcomes.append(zoom.process(event_id=str(event.pk)))
    assert outcomes == ["ended (0 recomputed)", "joined"]
    row = WorkshopAttendance.objects.get()
    assert (row.duration_minutes, row.left_at) == (84, DAY.replace(hour=19, minute=34))

    unknown = {**ended, "payload": {"object": {**ended["payload"]["object"], "id": "999"}}}
    event = ZoomWebhookEvent.objects.create(zoom_event_id="end-x", event_type="meeting.ended", event_data=unknown)
    assert zoom.process(event_id=str(event.pk)) == "no matching workshop"
    no_time = {**ended, "payload": {"object": {"id": workshop.zoom_meeting_id}}}
    event = ZoomWebhookEvent.objects.create(zoom_event_id="end-y", event_type="meeting.ended", event_data=no_time)
    assert zoom.process(event_id=str(event.pk)) == "no end time"


@pytest.mark.django_db
def test_a_delivery_without_any_participant_id_is_processed_without_attendance():
    workshop = WorkshopFactory()
    payload = participant_event(
        "meeting.participant_joined",
        meeting_id=workshop.zoom_meeting_id,
        email="x@example.com",
        at=workshop.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    participant = payload["payload"]["object"]["participant"]
    participant["participant_uuid"] = participant["user_id"] = ""
    event = ZoomWebhookEvent.objects.create(zoom_event_id="no-id", event_type=payload["event"], event_data=payload)
    assert zoom.process(event_id=str(event.pk)) == "no participant id"
    assert not WorkshopAttendance.objects.exists()


@pytest.mark.django_db
def test_the_same_connection_event_in_two_deliveries_is_a_duplicate():
    workshop = WorkshopFactory()
    at = (workshop.starts_at + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    outcomes = []
    for event_ts in (1, 2):  # a retry Zoom re-stamped: a new delivery row, the same join
        payload = participant_event(
            "meeting.participant_joined",
            meeting_id=workshop.zoom_meeting_id,
            email="a@example.com",
            at=at,
            event_ts=event_ts,
        )
        event = ZoomWebhookEvent.objects.create(
            zoom_event_id=f"dup-{event_ts}", event_type=payload["event"], event_data=payload
        )
        outcomes.append(zoom.process(event_id=str(event.pk)))
    assert outcomes == ["joined", "duplicate"]
    assert WorkshopConnectionEvent.objects.count() == 1


# --- staff -----------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, settings):
    from tests.factories.workshops import StaffFactory

    settings.BLOOM_STAFF_MFA_REQUIRED = False
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.mark.django_db
def test_staff_see_each_connection_behind_an_attendance_row(staff_client, settings):
    from zoneinfo import ZoneInfo

    from django.urls import reverse

    workshop = WorkshopFactory()
    for kind, hhmm, connection_id in [*EXAMPLE, ("joined", "18:30", "conn-c"), ("left", "18:40", "conn-d")]:
        _record(workshop, kind, hhmm, connection_id)
    row = WorkshopAttendance.objects.get()
    page = staff_client.get(reverse("admin:workshops_workshopattendance_change", args=[row.pk])).content.decode()

    def shown(hhmm: str) -> str:  # the admin shows times in the staff member's own zone
        at = workshop.starts_at.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))
        return f"{at.astimezone(ZoneInfo(settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)):%H:%M:%S}"

    assert f"<code>conn-a</code>: {shown('18:04')}–{shown('18:18')}" in page
    assert f"<code>conn-b</code>: {shown('18:20')}–{shown('18:24')}" in page
    assert f"<code>conn-c</code>: joined {shown('18:30')}, not left yet" in page
    assert "<code>conn-d</code>: left, its join not received yet" in page

    from workshops.services.attendance import attendance_meeting_end_record

    attendance_meeting_end_record(workshop=workshop, ended_at=workshop.starts_at.replace(hour=19, minute=0))
    page = staff_client.get(reverse("admin:workshops_workshopattendance_change", args=[row.pk])).content.decode()
    assert f"<code>conn-c</code>: {shown('18:30')}–{shown('19:00')}" in page  # closed by the meeting's end

    changelist = staff_client.get(reverse("admin:workshops_workshopconnectionevent_changelist"))
    assert changelist.status_code == 200 and "conn-d" in changelist.content.decode()
    event = WorkshopConnectionEvent.objects.get(connection_id="conn-d")
    detail = staff_client.get(reverse("admin:workshops_workshopconnectionevent_change", args=[event.pk]))
    assert detail.status_code == 200 and "Save" not in detail.content.decode()


@pytest.mark.django_db(transaction=True)
def test_workers_applying_one_participants_events_at_once_lose_none():
    """Eight connections of one person recorded from eight threads at once (their own
    PostgreSQL connections): the participant lock makes each recompute see the others."""
    import threading

    from django.db import connection

    workshop = WorkshopFactory()
    start = workshop.starts_at
    barrier = threading.Barrier(8)
    errors = []

    def device(n: int) -> None:
        try:
            barrier.wait()
            joined, left = start + timedelta(minutes=10 * n), start + timedelta(minutes=10 * n + 5)
            for kind, at in (("joined", joined), ("left", left)):
                attendance_connection_record(
                    workshop=workshop, kind=kind, at=at, connection_id=f"device-{n}", email="maya@example.com"
                )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=device, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = WorkshopAttendance.objects.get()
    assert (row.duration_minutes, row.joined_at, row.left_at) == (
        40,
        start,
        start + timedelta(minutes=75),
    )
    assert WorkshopConnectionEvent.objects.count() == 16
