"""The private calendar feed: made, shown once, rotated (old URL dead at once, after a
confirmation), turned off; it lists her workshops and sessions in her zone, never another
member's, leaves cancelled items out, refuses guessing clients and answers in fixed queries."""

import datetime
import logging

import icalendar
import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from accounts import calendar_views
from accounts.calendar import calendar_feed_rotate
from accounts.models import CalendarFeed
from appointments.models import AppointmentStatus
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory
from workshops.models import RegistrationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_misses():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def member():
    member = UserFactory()
    member.profile.timezone = "America/Chicago"
    member.profile.save()
    return member


def _feed_path(token):
    return reverse("accounts:calendar_feed", kwargs={"token": token})


def _feed(client, token):
    response = client.get(_feed_path(token))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def _turn_on(client, member):
    client.force_login(member)
    assert client.post(reverse("accounts:calendar_feed_turn_on")).status_code == 302
    page = client.get(reverse("accounts:security")).content.decode()
    assert 'value="' + settings.SITE_URL.rstrip("/") in page
    return page.split("/calendar/feed/")[1].split(".ics")[0], page


def test_turning_on_shows_the_link_once_and_stores_only_a_digest(client, member):
    token, page = _turn_on(client, member)
    assert "webcal://" + settings.SITE_URL.rstrip("/").split("://")[1] + "/calendar/feed/" in page
    assert "Copy link" in page
    feed = CalendarFeed.objects.get(user=member)
    assert token not in feed.token_hash and len(feed.token_hash) == 64
    again = client.get(reverse("accounts:security")).content.decode()
    assert token not in again
    assert "Make a new link" in again


def test_feed_lists_her_items_in_her_zone_and_not_anyone_elses(client, member):
    starts = datetime.datetime(2031, 1, 10, 18, 0, tzinfo=datetime.UTC)  # noon in Chicago
    seat = WorkshopRegistrationFactory(
        user=member, workshop=WorkshopFactory(starts_at=starts, ends_at=starts + datetime.timedelta(hours=1))
    )
    session = AppointmentDataFactory(user=member)
    others = WorkshopRegistrationFactory(user=UserFactory())
    AppointmentDataFactory(user=others.user, zoom_meeting_url="https://zoom.us/j/999")
    old = AppointmentDataFactory(
        user=member,
        starts_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        ends_at=datetime.datetime(2020, 1, 1, 1, tzinfo=datetime.UTC),
    )
    token = calendar_feed_rotate(member=member)
    client.logout()
    calendar = _feed(client, token)
    events = {str(event["uid"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {
        f"workshop-{seat.workshop.pk}-member-{member.pk}@bloom.calendar",
        f"appointment-{session.pk}@bloom.calendar",
    }
    assert f"appointment-{old.pk}@bloom.calendar" not in events
    workshop_event = events[f"workshop-{seat.workshop.pk}-member-{member.pk}@bloom.calendar"]
    assert workshop_event["dtstart"].params["TZID"] == "America/Chicago"
    assert workshop_event.decoded("dtstart").hour == 12
    assert str(workshop_event["location"]) == seat.workshop.zoom_join_url
    body = calendar.to_ical().decode()
    assert others.workshop.zoom_join_url not in body and "zoom.us/j/999" not in body
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]


def test_cancelled_session_and_registration_disappear_from_the_feed(client, member):
    seat = WorkshopRegistrationFactory(user=member)
    session = AppointmentDataFactory(user=member)
    token = calendar_feed_rotate(member=member)
    assert len(_feed(client, token).walk("VEVENT")) == 2
    session.status = AppointmentStatus.CANCELLED
    session.save()
    seat.status = RegistrationStatus.CANCELLED
    seat.save()
    assert _feed(client, token).walk("VEVENT") == []


def test_signing_up_again_after_cancelling_shows_the_workshop_once(client, member):
    workshop = WorkshopFactory()
    WorkshopRegistrationFactory(user=member, workshop=workshop, status=RegistrationStatus.CANCELLED)
    WorkshopRegistrationFactory(user=member, workshop=workshop)
    token = calendar_feed_rotate(member=member)
    (event,) = _feed(client, token).walk("VEVENT")
    assert str(event["status"]) == "CONFIRMED"


def test_rotate_asks_first_then_the_old_link_stops_at_once(client, member):
    old, _ = _turn_on(client, member)
    confirm = client.get(reverse("accounts:calendar_feed_rotate"))
    assert confirm.status_code == 200 and "stop working straight away" in confirm.content.decode()
    assert client.get(_feed_path(old)).status_code == 200  # asking changes nothing
    assert client.post(reverse("accounts:calendar_feed_rotate")).status_code == 302
    page = client.get(reverse("accounts:security")).content.decode()
    client.logout()
    assert client.get(_feed_path(old)).status_code == 404
    new = page.split("/calendar/feed/")[1].split(".ics")[0]
    assert new != old
    assert client.get(_feed_path(new)).status_code == 200


def test_turn_off_asks_first_then_the_link_is_dead(client, member):
    token, _ = _turn_on(client, member)
    assert "Turn off your calendar link?" in client.get(reverse("accounts:calendar_feed_turn_off")).content.decode()
    assert CalendarFeed.objects.filter(user=member).exists()
    assert client.post(reverse("accounts:calendar_feed_turn_off")).status_code == 302
    assert not CalendarFeed.objects.filter(user=member).exists()
    assert client.get(_feed_path(token)).status_code == 404
    assert "Get my calendar link" in client.get(reverse("accounts:security")).content.decode()


def test_settings_need_sign_in_and_post_to_change(client, member):
    assert client.post(reverse("accounts:calendar_feed_turn_on")).status_code == 302
    assert not CalendarFeed.objects.exists()
    client.force_login(member)
    assert client.get(reverse("accounts:calendar_feed_turn_on")).status_code == 405


def test_an_inactive_member_feed_answers_404(client, member):
    token = calendar_feed_rotate(member=member)
    member.is_active = False
    member.save()
    assert client.get(_feed_path(token)).status_code == 404


def test_guessing_is_refused_after_a_few_misses_and_never_logged(client, member, caplog, monkeypatch):
    monkeypatch.setattr(calendar_views, "FEED_MISSES_ALLOWED", 3)
    token = calendar_feed_rotate(member=member)
    with caplog.at_level(logging.DEBUG):
        statuses = [client.get(_feed_path(f"guess{n}")).status_code for n in range(3)]
        assert statuses == [404, 404, 404]
        # Now even the right token is refused from this address until the window passes.
        assert client.get(_feed_path(token)).status_code == 429
    assert not any("guess" in record.getMessage() for record in caplog.records)
    assert not any(token in record.getMessage() for record in caplog.records)


def test_feed_answers_in_fixed_queries_whatever_the_number_of_items(client, member, django_assert_num_queries):
    token = calendar_feed_rotate(member=member)
    for _ in range(2):
        WorkshopRegistrationFactory(user=member)
        AppointmentDataFactory(user=member)
    with django_assert_num_queries(3):  # the feed and her profile, her workshops, her sessions
        assert len(_feed(client, token).walk("VEVENT")) == 4
    for _ in range(3):
        WorkshopRegistrationFactory(user=member)
        AppointmentDataFactory(user=member)
    with django_assert_num_queries(3):
        assert len(_feed(client, token).walk("VEVENT")) == 10


@pytest.mark.parametrize("name", ["accounts:calendar_feed_rotate", "accounts:calendar_feed_turn_off"])
def test_confirmation_pages_answer_in_pinned_queries(client, member, name, django_assert_num_queries):
    calendar_feed_rotate(member=member)
    client.force_login(member)
    client.get(reverse("accounts:security"))  # the session is warm, as when she clicks through
    with django_assert_num_queries(3):  # session, user with profile, feed (the bell's count is kept)
        assert client.get(reverse(name)).status_code == 200


def test_without_a_feed_the_confirmation_pages_go_back_to_security(client, member):
    client.force_login(member)
    for name in ("accounts:calendar_feed_rotate", "accounts:calendar_feed_turn_off"):
        response = client.post(reverse(name))
        assert response.status_code == 302 and response.url == reverse("accounts:security")
    assert not CalendarFeed.objects.exists()


def test_erasure_turns_the_feed_off(client, member):
    from accounts.services.data_requests import member_anonymize

    token = calendar_feed_rotate(member=member)
    member_anonymize(member=member)
    assert not CalendarFeed.objects.filter(user=member).exists()
    assert client.get(_feed_path(token)).status_code == 404


@pytest.mark.parametrize("events", [0, 1, 3])
def test_an_ics_is_byte_for_byte_what_icalendar_builds_with_its_own_vtimezone(member, monkeypatch, events):
    """calendar_ics builds each zone's VTIMEZONE once per process (issue 18 point 5): the text is
    the same as with icalendar's add_missing_timezones, first call or cached."""
    from accounts import calendar as ics

    now = datetime.datetime(2030, 1, 10, 9, tzinfo=datetime.UTC)
    monkeypatch.setattr(ics.timezone, "now", lambda: now)
    items = [
        ics.CalendarEvent(
            uid=f"item-{n}",
            summary=f"Session {n}",
            starts_at=now + datetime.timedelta(days=n + 1),
            ends_at=now + datetime.timedelta(days=n + 1, minutes=50),
            changed_at=now,
            join_url="https://zoom.us/j/1",
        )
        for n in range(events)
    ]
    zone = ics.member_zone(member)
    expected = icalendar.Calendar()
    for name, value in (
        ("prodid", ics.PRODID),
        ("version", "2.0"),
        ("calscale", "GREGORIAN"),
        ("method", "PUBLISH"),
        ("x-wr-calname", "Bloom"),
        ("x-wr-timezone", zone.key),
    ):
        expected.add(name, value)
    for item in items:
        expected.add_component(ics._vevent(item, zone, now))
    expected.add_missing_timezones()

    ics._vtimezone_ical.cache_clear()
    first = ics.calendar_ics(member=member, events=items, name="Bloom")
    again = ics.calendar_ics(member=member, events=items, name="Bloom")

    assert first == again == expected.to_ical()
    assert first.count(b"BEGIN:VTIMEZONE") == (1 if events else 0)
