"""Publishing and attendance guards for workshops (issue 14 point 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from tests.bloom.support_admin_forms import admin_form_data
from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory
from workshops import services
from workshops.models import RegistrationStatus, WorkshopAttendance, WorkshopStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _minutes_ago(minutes: int):
    return (timezone.now() - timedelta(minutes=minutes)).replace(microsecond=0)


# --- Publishing --------------------------------------------------------------------------------


def test_a_workshop_without_a_host_is_not_published():
    workshop = WorkshopFactory(status=WorkshopStatus.DRAFT, facilitator=None)
    with pytest.raises(ValidationError) as caught:
        services.workshop_publish(workshop=workshop)
    assert caught.value.message_dict == {"facilitator": ["Choose who hosts the workshop before publishing it."]}
    workshop.refresh_from_db()
    assert workshop.status == WorkshopStatus.DRAFT


def test_a_workshop_whose_time_has_passed_is_not_published():
    workshop = WorkshopFactory(status=WorkshopStatus.DRAFT, starts_at=_minutes_ago(30))
    with pytest.raises(ValidationError) as caught:
        services.workshop_publish(workshop=workshop)
    assert list(caught.value.message_dict) == ["starts_at"]
    assert "This start time has passed" in caught.value.message_dict["starts_at"][0]


def test_a_cancelled_workshop_is_not_published_again():
    workshop = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    with pytest.raises(ValidationError) as caught:
        services.workshop_publish(workshop=workshop)
    assert "cancelled workshop cannot be published again" in caught.value.message_dict["status"][0]


def test_change_form_refuses_publishing_a_cancelled_workshop(owner_client):
    workshop = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    url = reverse("admin:workshops_workshop_change", args=[workshop.pk])
    response = owner_client.post(url, admin_form_data(owner_client.get(url), status="published"))
    assert response.context["adminform"].form.errors["status"][0].startswith("A cancelled workshop cannot")
    workshop.refresh_from_db()
    assert workshop.status == WorkshopStatus.CANCELLED


def test_a_ready_workshop_publishes_once():
    workshop = WorkshopFactory(status=WorkshopStatus.DRAFT)
    assert services.workshop_publish(workshop=workshop) is True
    assert services.workshop_publish(workshop=workshop) is False
    workshop.refresh_from_db()
    assert workshop.status == WorkshopStatus.PUBLISHED


def test_publish_action_confirms_then_names_each_refusal(owner_client):
    ready = WorkshopFactory(status=WorkshopStatus.DRAFT, title="Feeding Q&A")
    hostless = WorkshopFactory(status=WorkshopStatus.DRAFT, facilitator=None, title="Hostless")
    url = reverse("admin:workshops_workshop_changelist")
    selection = {"action": "publish", "_selected_action": [str(ready.pk), str(hostless.pk)]}
    first = owner_client.post(url, selection)
    assert "Publish these workshops?" in first.content.decode() and "none yet" in first.content.decode()
    ready.refresh_from_db()
    assert ready.status == WorkshopStatus.DRAFT
    response = owner_client.post(url, {**selection, "confirm": "yes"}, follow=True)
    texts = [str(message) for message in response.context["messages"]]
    assert "1 workshop published." in texts
    assert any("Hostless" in text and "Choose who hosts the workshop" in text for text in texts)
    hostless.refresh_from_db()
    assert hostless.status == WorkshopStatus.DRAFT
    assert list(LogEntry.objects.values_list("object_id", "change_message")) == [(str(ready.pk), "Published")]


def test_change_form_refuses_publishing_without_a_host_on_the_host_field(owner_client):
    workshop = WorkshopFactory(status=WorkshopStatus.DRAFT, facilitator=None, title="Partners' evening")
    url = reverse("admin:workshops_workshop_change", args=[workshop.pk])
    response = owner_client.post(
        url, admin_form_data(owner_client.get(url), status="published", title="Partners' evening (Tue)")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["facilitator"] == [
        "Choose who hosts the workshop before publishing it."
    ]
    assert "Partners&#x27; evening (Tue)" in response.content.decode()
    workshop.refresh_from_db()
    assert workshop.status == WorkshopStatus.DRAFT


# --- Attendance only after the start ----------------------------------------------------------


def test_mark_attended_before_the_start_is_refused_and_records_nothing():
    registration = WorkshopRegistrationFactory()  # the workshop is a week away
    with pytest.raises(ApplicationError) as caught:
        services.registration_mark_attended(registration=registration)
    assert "has not started yet" in caught.value.message and "nobody can be marked attended" in caught.value.message
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REGISTERED
    assert not WorkshopAttendance.objects.exists()


def test_mark_no_show_before_the_start_is_refused():
    registration = WorkshopRegistrationFactory()
    with pytest.raises(ApplicationError):
        services.registration_mark_no_show(registration=registration)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REGISTERED


def test_marking_during_the_session_records_only_the_minutes_so_far():
    workshop = WorkshopFactory(starts_at=_minutes_ago(30), ends_at=_minutes_ago(30) + timedelta(minutes=75))
    registration = WorkshopRegistrationFactory(workshop=workshop)
    services.registration_mark_attended(registration=registration)
    row = WorkshopAttendance.objects.get()
    assert 29 <= row.duration_minutes <= 31 and row.left_at <= timezone.now()


def test_marking_after_the_session_records_the_whole_session():
    workshop = WorkshopFactory(starts_at=_minutes_ago(200), ends_at=_minutes_ago(200) + timedelta(minutes=75))
    registration = WorkshopRegistrationFactory(workshop=workshop)
    services.registration_mark_attended(registration=registration)
    assert WorkshopAttendance.objects.get().duration_minutes == 75


def test_mark_attended_action_tells_staff_why_for_a_future_workshop(owner_client):
    registration = WorkshopRegistrationFactory(user=UserFactory(email="ada@example.com"))
    response = owner_client.post(
        reverse("admin:workshops_workshopregistration_changelist"),
        {"action": "mark_attended", "_selected_action": [str(registration.pk)]},
        follow=True,
    )
    texts = [str(message) for message in response.context["messages"]]
    assert "0 registrations marked attended." in texts
    assert any(text.startswith("ada@example.com: ") and "has not started yet" in text for text in texts)
    assert not WorkshopAttendance.objects.exists()


def test_a_manual_attendance_row_for_a_future_workshop_is_refused_in_the_admin(owner_client):
    workshop = WorkshopFactory()
    url = reverse("admin:workshops_workshopattendance_add")
    later = timezone.localtime(workshop.starts_at)
    response = owner_client.post(
        url,
        {
            "workshop": str(workshop.pk),
            "participant_email": "phone@example.com",
            "participant_name": "By phone",
            "joined_at_0": later.date().isoformat(),
            "joined_at_1": later.strftime("%H:%M:%S"),
            "left_at_0": later.date().isoformat(),
            "left_at_1": (later + timedelta(minutes=75)).strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["workshop"] == ["This workshop has not started yet, so nobody can have attended it."]
    assert errors["joined_at"] == ["This time is in the future: attendance is recorded after it happens."]
    assert not WorkshopAttendance.objects.exists()


def test_publish_confirmation_page_costs_the_same_for_one_or_five_workshops(owner_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:workshops_workshop_changelist")

    def measure(count: int) -> int:
        rows = [WorkshopFactory(status=WorkshopStatus.DRAFT) for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            page = owner_client.post(url, {"action": "publish", "_selected_action": [str(w.pk) for w in rows]})
        assert page.status_code == 200 and "Publish these workshops?" in page.content.decode()
        return len(queries)

    owner_client.get(url)  # warm the session
    assert measure(1) == measure(5)
