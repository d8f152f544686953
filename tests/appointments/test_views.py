"""Member pages: appointment list and detail (fenced), therapist directory, dashboard panel."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentStatus
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db


def test_list_requires_login(client):
    response = client.get(reverse("appointments:appointment_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_list_shows_only_the_members_own_sessions_split_upcoming_and_past(client, member, django_assert_num_queries):
    upcoming = AppointmentDataFactory(user=member)
    past_start = timezone.now() - timedelta(days=7)
    past = AppointmentDataFactory(user=member, starts_at=past_start, ends_at=past_start + timedelta(minutes=50))
    cancelled = AppointmentDataFactory(user=member, status=AppointmentStatus.CANCELLED)
    someone_elses = AppointmentDataFactory()
    client.force_login(member)
    client.get(reverse("appointments:appointment_list"))  # warm the session/profile caches
    with django_assert_num_queries(4):  # session, user with profile (time zone), upcoming, past (the bell is kept)
        response = client.get(reverse("appointments:appointment_list"))
    assert response.status_code == 200
    assert [a.pk for a in response.context["upcoming"]] == [upcoming.pk]
    assert {a.pk for a in response.context["past"]} == {past.pk, cancelled.pk}
    body = response.content.decode()
    assert str(someone_elses.pk) not in body
    assert "Book a session" in body


def test_list_query_count_does_not_grow_with_sessions(client, member, django_assert_num_queries):
    for _ in range(5):
        AppointmentDataFactory(user=member)
    client.force_login(member)
    client.get(reverse("appointments:appointment_list"))
    with django_assert_num_queries(4):
        client.get(reverse("appointments:appointment_list"))


def test_times_are_shown_in_the_members_time_zone(client, member):
    starts_at = timezone.now().replace(microsecond=0) + timedelta(days=2)
    AppointmentDataFactory(user=member, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    member.profile.timezone = "Asia/Tokyo"
    member.profile.save(update_fields=["timezone"])
    client.force_login(member)
    body = client.get(reverse("appointments:appointment_list")).content.decode()
    import zoneinfo

    local = timezone.localtime(starts_at, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert "Asia/Tokyo" in body
    assert f"{local:%-I:%M}" in body


def test_empty_list_has_friendly_messages(client, member):
    client.force_login(member)
    body = client.get(reverse("appointments:appointment_list")).content.decode()
    assert "You have no upcoming sessions." in body
    assert "No past sessions yet." in body


def test_detail_of_another_members_session_is_404(client, member):
    other = AppointmentDataFactory()
    mine = AppointmentDataFactory(user=member)
    client.force_login(member)
    assert client.get(reverse("appointments:appointment_detail", args=[other.pk])).status_code == 404
    response = client.get(reverse("appointments:appointment_detail", args=[mine.pk]))
    assert response.status_code == 200
    assert "Before your first video session" in response.content.decode()  # telehealth consent first
    client.post(reverse("accounts:telehealth_consent"), {"agree": "1"})
    response = client.get(reverse("appointments:appointment_detail", args=[mine.pk]))
    assert "The button to join by video appears here 15 minutes before the session" in response.content.decode()


def test_dashboard_panel_empty_state(client, member):
    client.force_login(member)
    response = client.get(reverse("accounts:dashboard"))
    body = response.content.decode()
    assert "Your sessions" in body
    assert "No sessions booked yet." in body


def test_dashboard_panel_shows_next_sessions_in_one_query(member, django_assert_num_queries):
    from accounts.dashboard import panels

    AppointmentDataFactory(user=member)
    AppointmentDataFactory(user=member, status=AppointmentStatus.CANCELLED)
    AppointmentDataFactory()
    panel = next(p for p in panels() if p.key == "appointments")
    with django_assert_num_queries(1):
        context = panel.context(member)
    assert len(context["appointments"]) == 1
    assert context["appointments"][0].therapist is not None  # fetched in the same query


def test_directory_query_count_is_fixed(client, member, django_assert_num_queries):
    TherapistProfileFactory()
    client.force_login(member)
    client.get(reverse("appointments:therapist_list"))
    for _ in range(4):
        TherapistProfileFactory()
    with django_assert_num_queries(3):  # session, user with profile (time zone), therapists (the bell is kept)
        response = client.get(reverse("appointments:therapist_list"))
    assert len(list(response.context["therapists"])) == 5


def test_list_shows_the_next_sessions_and_says_when_there_are_more(client, member):
    from appointments.selectors import appointment_list_for_member

    start = timezone.now() + timedelta(days=1)
    for day in range(4):
        at = start + timedelta(days=day)
        AppointmentDataFactory(user=member, starts_at=at, ends_at=at + timedelta(minutes=50))
    listed = appointment_list_for_member(member=member, upcoming_limit=3)
    assert len(listed.upcoming) == 3 and listed.upcoming_more
    assert [a.starts_at for a in listed.upcoming] == sorted(a.starts_at for a in listed.upcoming)
    assert not appointment_list_for_member(member=member, upcoming_limit=4).upcoming_more

    client.force_login(member)
    body = client.get(reverse("appointments:appointment_list")).content.decode()
    assert "Showing your next" not in body  # 4 sessions fit under the page's limit of 50
