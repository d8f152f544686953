"""'Add to calendar' for a workshop registration: the .ics parses, times are in her zone, the
Zoom link only for her seat, a stable UID, SEQUENCE growing when moved, cancelled marked."""

import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.urls import reverse

from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory
from workshops.models import PaymentStatus, RegistrationStatus, WorkshopStatus

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def _download(client, registration):
    response = client.get(reverse("workshops:registration_calendar", args=[registration.pk]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


@pytest.fixture
def seat():
    member = UserFactory()
    member.profile.timezone = "America/New_York"
    member.profile.save()
    starts = datetime.datetime(2031, 3, 4, 18, 0, tzinfo=datetime.UTC)
    workshop = WorkshopFactory(starts_at=starts, ends_at=starts + datetime.timedelta(minutes=90))
    return WorkshopRegistrationFactory(user=member, workshop=workshop)


def test_her_seat_downloads_in_her_zone_with_the_join_link(client, seat):
    client.force_login(seat.user)
    calendar, event = _download(client, seat)
    start = event.decoded("dtstart")
    assert event["dtstart"].params["TZID"] == "America/New_York"
    assert start.utcoffset() == datetime.timedelta(hours=-5)
    assert start == seat.workshop.starts_at
    assert start.astimezone(NEW_YORK).hour == 13
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(event["location"]) == seat.workshop.zoom_join_url
    assert str(event["url"]) == seat.workshop.zoom_join_url
    assert seat.workshop.zoom_join_url in str(event["description"])
    assert "1:00 PM to 2:30 PM (America/New_York time)" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"
    assert seat.workshop.title in str(event["summary"])


def test_another_member_gets_404_and_a_visitor_is_sent_to_sign_in(client, seat):
    client.force_login(UserFactory())
    assert client.get(reverse("workshops:registration_calendar", args=[seat.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("workshops:registration_calendar", args=[seat.pk])).status_code == 302


def test_unpaid_seat_has_no_join_link(client, seat):
    seat.payment_status = PaymentStatus.PENDING
    seat.save()
    client.force_login(seat.user)
    _, event = _download(client, seat)
    assert "location" not in event or seat.workshop.zoom_join_url not in str(event["location"])
    assert seat.workshop.zoom_join_url not in event.to_ical().decode()


def test_waitlist_place_is_not_a_calendar_item(client, seat):
    seat.status = RegistrationStatus.WAITLISTED
    seat.save()
    client.force_login(seat.user)
    assert client.get(reverse("workshops:registration_calendar", args=[seat.pk])).status_code == 404


def test_moving_keeps_the_uid_and_raises_sequence(client, seat):
    client.force_login(seat.user)
    _, before = _download(client, seat)
    workshop = seat.workshop
    workshop.starts_at += datetime.timedelta(days=1, seconds=5)
    workshop.ends_at += datetime.timedelta(days=1, seconds=5)
    workshop.save()
    # Moved a minute later (auto_now would give the same second inside one test).
    type(workshop).objects.filter(pk=workshop.pk).update(updated_at=workshop.updated_at + datetime.timedelta(minutes=1))
    _, after = _download(client, seat)
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) > int(before["sequence"])
    assert after.decoded("dtstart") == workshop.starts_at


def test_cancelled_workshop_and_cancelled_registration_are_marked_cancelled(client, seat):
    client.force_login(seat.user)
    workshop = seat.workshop
    workshop.status = WorkshopStatus.CANCELLED
    workshop.save()
    _, event = _download(client, seat)
    assert str(event["status"]) == "CANCELLED"
    assert workshop.zoom_join_url not in event.to_ical().decode()

    other = WorkshopRegistrationFactory(user=seat.user, status=RegistrationStatus.CANCELLED)
    _, event = _download(client, other)
    assert str(event["status"]) == "CANCELLED"


def test_detail_page_offers_add_to_calendar_to_her_seat_only(client, seat):
    client.force_login(seat.user)
    url = reverse("workshops:workshop_detail", args=[seat.workshop.slug])
    link = reverse("workshops:registration_calendar", args=[seat.pk])
    assert link in client.get(url).content.decode()
    client.force_login(UserFactory())
    assert link not in client.get(url).content.decode()


def test_dashboard_lists_add_to_calendar_for_her_seat_not_her_waitlist_place(client, seat):
    waiting = WorkshopRegistrationFactory(user=seat.user, status=RegistrationStatus.WAITLISTED)
    client.force_login(seat.user)
    page = client.get(reverse("accounts:dashboard")).content.decode()
    assert reverse("workshops:registration_calendar", args=[seat.pk]) in page
    assert reverse("workshops:registration_calendar", args=[waiting.pk]) not in page


def test_an_archived_workshop_is_cancelled_in_the_download_and_gone_from_the_feed(client, seat):
    from accounts.calendar import calendar_feed_rotate

    token = calendar_feed_rotate(member=seat.user)
    seat.workshop.archive()
    client.force_login(seat.user)
    _, event = _download(client, seat)
    assert str(event["status"]) == "CANCELLED"
    feed = client.get(reverse("accounts:calendar_feed", kwargs={"token": token}))
    assert icalendar.Calendar.from_ical(feed.content).walk("VEVENT") == []
