"""Find a therapist: the directory and each therapist's page, with data and empty."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.urls import reverse

from accounts.models import UserProfile
from appointments.booking import weekly_hours_from_blocks
from tests.appointments import support_booking
from tests.appointments.support_booking import book_url
from tests.factories.appointments import TherapistAvailabilityFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db

bookable = support_booking.bookable


def _set_zone(member, zone: str) -> None:
    UserProfile.objects.filter(user=member).update(timezone=zone)


def test_directory_lists_every_therapist_accepting_first_and_links_to_their_pages(client, member):
    open_one = TherapistProfileFactory(display_name="Zoe Open")
    full = TherapistProfileFactory(display_name="Aaron Full", is_accepting_clients=False)
    gone = TherapistProfileFactory(display_name="Dr. Gone")
    gone.archive()
    client.force_login(member)

    response = client.get(reverse("appointments:therapist_list"))

    body = response.content.decode()
    assert [t.pk for t in response.context["therapists"]] == [open_one.pk, full.pk]
    assert "Dr. Gone" not in body
    assert reverse("appointments:therapist_detail", args=[open_one.pk]) in body
    assert "Not taking new clients right now" in body
    assert "calendly.com" not in body  # booking goes through the gate, never straight to Calendly


def test_directory_empty_state(client, member):
    client.force_login(member)
    body = client.get(reverse("appointments:therapist_list")).content.decode()
    assert "Our list of therapists is being updated" in body


def test_therapist_page_shows_who_she_helps_fee_policy_and_hours_in_the_readers_zone(client, member, bookable):
    _set_zone(member, "America/New_York")
    client.force_login(member)

    response = client.get(reverse("appointments:therapist_detail", args=[bookable.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "New parents in the first year" in body
    assert "Postpartum depression" in body  # specialties
    assert "$175.00 USD for 50 minutes" in body
    assert "Free up to 48 hours before it starts." in body
    assert "$60.00 USD" in body and "$90.00 USD" in body  # late-cancel and missed-session fees
    # 9:00-13:00 in Los Angeles is 12:00-16:00 in New York.
    assert "Tuesday: " in body and "12:00 PM" in body and "4:00 PM" in body
    assert "9:00 AM" not in body
    assert "America/New_York" in body
    assert f'href="{book_url(bookable)}"' in body
    assert "calendly.com" not in body


def test_therapist_page_without_hours_has_an_empty_state(client, member):
    therapist = TherapistProfileFactory(display_name="Dr. New")
    client.force_login(member)
    body = client.get(reverse("appointments:therapist_detail", args=[therapist.pk])).content.decode()
    assert "Dr. New has not listed usual hours yet" in body
    assert "Usual weekly hours" in body


def test_not_accepting_hides_booking_and_says_so_kindly(client, member):
    therapist = TherapistProfileFactory(display_name="Priya Full", is_accepting_clients=False)
    TherapistAvailabilityFactory(therapist=therapist)
    client.force_login(member)
    body = client.get(reverse("appointments:therapist_detail", args=[therapist.pk])).content.decode()
    assert "Priya Full is not taking new clients right now" in body
    assert book_url(therapist) not in body
    assert "Book a session" not in body
    assert "calendly.com" not in body


def test_archived_or_unknown_therapist_is_404(client, member):
    therapist = TherapistProfileFactory()
    therapist.archive()
    client.force_login(member)
    assert client.get(reverse("appointments:therapist_detail", args=[therapist.pk])).status_code == 404
    assert client.get(book_url(therapist)).status_code == 404


def test_pages_need_a_sign_in(client, bookable):
    for url in (reverse("appointments:therapist_list"), reverse("appointments:therapist_detail", args=[bookable.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_weekly_hours_cross_midnight_and_respect_validity():
    from zoneinfo import ZoneInfo

    from appointments.models import TherapistAvailability

    late = TherapistAvailability(
        weekday=0, start_time=time(20), end_time=time(23), timezone="America/Los_Angeles", valid_from=None
    )
    expired = TherapistAvailability(
        weekday=2, start_time=time(9), end_time=time(10), timezone="America/Los_Angeles", valid_until=date(2020, 1, 1)
    )
    hours = weekly_hours_from_blocks([late, expired], reader_zone=ZoneInfo("Europe/London"), today=date(2026, 12, 2))
    assert len(hours) == 1
    [block] = hours
    # Monday 20:00-23:00 in Los Angeles is Tuesday 04:00-07:00 in London.
    assert block.weekday == "Tuesday"
    assert (block.starts.hour, block.ends.hour) == (4, 7)
    assert not block.ends_next_day
