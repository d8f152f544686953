"""The demo data shows every workshop state: a full workshop with a waitlist, a series, and a
session Maya attended with her feedback and its materials. seed_demo twice changes nothing."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from workshops.demo import FULL_WORKSHOP, SERIES, SERIES_SESSIONS
from workshops.models import (
    RegistrationStatus,
    UserWorkshopSeriesProgress,
    WaitlistStatus,
    Workshop,
    WorkshopAttendance,
    WorkshopFeedback,
    WorkshopRegistration,
    WorkshopResource,
    WorkshopWaitlistEntry,
)
from workshops.selectors import workshop_seats_held

pytestmark = pytest.mark.django_db

WORKSHOP_MODELS = [m for m in apps.get_app_config("workshops").get_models() if not m._meta.proxy]


def _counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in WORKSHOP_MODELS}


@pytest.fixture
def seeded():
    call_command("seed_demo", stdout=StringIO())
    return User.objects.get(email="member@bloom.test")


def test_seed_demo_twice_leaves_the_same_workshop_rows(seeded):
    before = _counts()
    assert before["Workshop"] == 2 + 1 + len(SERIES_SESSIONS)
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == before


def test_the_full_workshop_is_full_and_maya_waits_first_on_its_waitlist(seeded):
    workshop = Workshop.objects.get(slug=FULL_WORKSHOP["slug"])
    assert workshop.is_bookable
    assert workshop_seats_held(workshop=workshop) == workshop.capacity == 3
    queue = list(WorkshopWaitlistEntry.objects.filter(workshop=workshop).order_by("position"))
    assert [(e.user.email, e.position, e.status) for e in queue] == [
        ("member@bloom.test", 1, WaitlistStatus.WAITING),
        ("guest.dani@bloom.test", 2, WaitlistStatus.WAITING),
    ]
    assert not WorkshopRegistration.objects.filter(
        workshop=workshop, user=seeded, status=RegistrationStatus.REGISTERED
    ).exists()


def test_the_series_has_a_held_session_maya_attended_with_feedback_and_materials(seeded):
    sessions = list(Workshop.objects.filter(series__slug=SERIES["slug"]).order_by("starts_at"))
    assert len(sessions) == 3
    held, *upcoming = sessions
    assert not held.is_bookable and all(w.is_bookable for w in upcoming)
    registration = WorkshopRegistration.objects.get(workshop=held, user=seeded)
    assert registration.status == RegistrationStatus.ATTENDED
    assert WorkshopAttendance.objects.filter(registration=registration, duration_minutes=75).count() == 1
    feedback = WorkshopFeedback.objects.get(workshop=held, user=seeded)
    assert feedback.rating == 5 and feedback.would_recommend
    assert WorkshopFeedback.objects.filter(workshop=held).count() == 2
    resources = list(WorkshopResource.objects.filter(workshop=held).order_by("sort_order"))
    assert [bool(r.file) for r in resources] == [True, False] and resources[1].url.startswith("https://")
    with resources[0].file.open("rb") as handout:
        assert b"988" in handout.read()
    progress = UserWorkshopSeriesProgress.objects.get(user=seeded, series=held.series)
    assert (progress.sessions_attended, progress.completed_at) == (1, None)


def test_the_demo_guests_cannot_log_in(seeded, client):
    guest = User.objects.get(email="guest.ana@bloom.test")
    assert not guest.has_usable_password()
    assert not client.login(email=guest.email, password="")


def test_maya_sees_the_waitlist_and_her_held_session_in_the_portal(seeded, client):
    client.force_login(seeded)
    full = client.get(reverse("workshops:workshop_detail", kwargs={"slug": FULL_WORKSHOP["slug"]}))
    assert full.status_code == 200 and "waitlist" in full.content.decode().lower()
    held = client.get(reverse("workshops:workshop_detail", kwargs={"slug": SERIES_SESSIONS[0][0]}))
    html = held.content.decode()
    assert held.status_code == 200 and "Handout: arriving as a parent" in html
