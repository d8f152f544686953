"""'Add to calendar' for a session: her zone, the video link only for her, a stable UID,
SEQUENCE growing when moved, a cancelled or rescheduled session marked cancelled."""

import datetime

import icalendar
import pytest
from django.urls import reverse

from appointments.models import AppointmentData, AppointmentStatus
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    member = UserFactory()
    member.profile.timezone = "Europe/London"
    member.profile.save()
    starts = datetime.datetime(2031, 7, 1, 9, 0, tzinfo=datetime.UTC)  # 10:00 in London (BST)
    return AppointmentDataFactory(user=member, starts_at=starts, ends_at=starts + datetime.timedelta(minutes=50))


def _event(client, appointment):
    response = client.get(reverse("appointments:appointment_calendar", args=[appointment.pk]))
    assert response.status_code == 200
    (event,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    return event


def test_her_session_in_her_zone_with_the_video_link(client, session):
    client.force_login(session.user)
    event = _event(client, session)
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert event.decoded("dtstart").utcoffset() == datetime.timedelta(hours=1)
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.ends_at
    assert str(event["location"]) == session.zoom_meeting_url
    assert "10:00 AM to 10:50 AM (Europe/London time)" in str(event["description"])
    assert str(event["uid"]) == f"appointment-{session.pk}@bloom.calendar"


def test_another_members_session_is_404(client, session):
    client.force_login(UserFactory())
    assert client.get(reverse("appointments:appointment_calendar", args=[session.pk])).status_code == 404


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULED])
def test_closed_session_is_cancelled_without_the_link(client, session, status):
    client.force_login(session.user)
    before = _event(client, session)
    session.status = status
    session.save()
    AppointmentData.objects.filter(pk=session.pk).update(updated_at=session.updated_at + datetime.timedelta(minutes=1))
    after = _event(client, session)
    assert str(after["status"]) == "CANCELLED"
    assert session.zoom_meeting_url not in after.to_ical().decode()
    assert int(after["sequence"]) > int(before["sequence"])
    assert str(after["uid"]) == str(before["uid"])


def test_list_and_detail_offer_add_to_calendar(client, session):
    client.force_login(session.user)
    link = reverse("appointments:appointment_calendar", args=[session.pk])
    assert link in client.get(reverse("appointments:appointment_list")).content.decode()
    assert link in client.get(reverse("appointments:appointment_detail", args=[session.pk])).content.decode()
