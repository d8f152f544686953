"""The four-step onboarding, resuming, validation and the welcome achievement."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserAchievement, UserPreferences, UserProfile
from accounts.services import onboarding_complete
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("accounts:onboarding")


@pytest.fixture
def newcomer(client):
    user = UserFactory(onboarded=False, first_name="", last_name="")
    client.force_login(user)
    return user


def _post(client, step, **data):
    return client.post(URL, {"step": step, **data})


def _today():
    return timezone.localdate()


def test_dashboard_sends_an_unfinished_member_to_onboarding(client, newcomer):
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == URL


@pytest.mark.parametrize(
    "name", ["accounts:profile", "accounts:security", "account_email", "account_change_password", "accounts:wellness"]
)
def test_account_pages_do_not_redirect_to_onboarding(client, newcomer, name):
    assert client.get(reverse(name)).status_code == 200


def test_logout_works_before_onboarding(client, newcomer):
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_full_onboarding_completes_and_awards_welcome_once(client, newcomer):
    assert "Step 1 of 4" in client.get(URL).content.decode()
    response = _post(client, 1, first_name="Ana", last_name="Lopez", preferred_name="Ani")
    assert response["Location"] == f"{URL}?step=2"
    due = _today() + datetime.timedelta(days=120)
    response = _post(client, 2, stage="pregnant", due_date=due.isoformat())
    assert response["Location"] == f"{URL}?step=3"
    response = client.post(URL, {"step": 3, "topics": ["sleep", "anxiety"], "timezone": "Europe/London"})
    assert response["Location"] == f"{URL}?step=4"
    response = _post(
        client, 4, notification_channel="portal", appointment_reminders="on", course_updates="on", newsletter=""
    )
    assert response["Location"] == reverse("accounts:dashboard")

    profile = UserProfile.objects.get(user=newcomer)
    assert (profile.first_name, profile.last_name, profile.preferred_name) == ("Ana", "Lopez", "Ani")
    assert (profile.stage, profile.due_date, profile.baby_birth_date) == ("pregnant", due, None)
    assert sorted(profile.topics) == ["anxiety", "sleep"]
    assert profile.timezone == "Europe/London"
    assert profile.onboarding_completed is True
    assert profile.onboarding_completed_at is not None
    assert profile.onboarding_step == 4
    newcomer.refresh_from_db()
    assert (newcomer.first_name, newcomer.last_name) == ("Ana", "Lopez")
    preferences = UserPreferences.objects.get(user=newcomer)
    assert preferences.notification_channel == "portal"
    assert (preferences.appointment_reminders, preferences.workshop_reminders) == (True, False)
    welcome = UserAchievement.objects.get(user=newcomer)
    assert (welcome.key, welcome.title) == ("welcome", "Completed onboarding")

    # Finished: the onboarding page sends the member on, completing again awards nothing new.
    assert client.get(URL)["Location"] == reverse("accounts:dashboard")
    onboarding_complete(member=newcomer)
    assert UserAchievement.objects.filter(user=newcomer).count() == 1
    assert client.get(reverse("accounts:dashboard")).status_code == 200


def test_member_who_leaves_half_way_resumes_at_the_next_step(client, newcomer):
    _post(client, 1, first_name="Ana", last_name="Lopez")
    _post(client, 2, stage="other")
    client.logout()
    client.force_login(newcomer)

    assert UserProfile.objects.get(user=newcomer).onboarding_step == 2
    response = client.get(URL)
    assert "Step 3 of 4" in response.content.decode()


def test_member_cannot_skip_ahead_but_can_go_back(client, newcomer):
    assert "Step 1 of 4" in client.get(f"{URL}?step=4").content.decode()
    _post(client, 1, first_name="Ana", last_name="Lopez")
    back = client.get(f"{URL}?step=1")
    assert 'value="Ana"' in back.content.decode()
    _post(client, 1, first_name="Anna", last_name="Lopez")
    assert UserProfile.objects.get(user=newcomer).onboarding_step == 1
    assert "Step 2 of 4" in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stage": "pregnant"}, "Please enter your due date."),
        ({"stage": "pregnant", "due_date": "-1"}, "Your due date should be in the future."),
        ({"stage": "pregnant", "due_date": "+330"}, "Your due date should be within the next 10 months."),
        ({"stage": "postpartum"}, "Please enter your baby&#x27;s birth date."),
        ({"stage": "postpartum", "baby_birth_date": "+1"}, "Your baby&#x27;s birth date cannot be in the future."),
        ({"stage": "postpartum", "baby_birth_date": "-1200"}, "first three years after birth"),
        ({"stage": "twins"}, "Select a valid choice."),
    ],
)
def test_stage_dates_are_validated_with_clear_messages(client, newcomer, data, message):
    _post(client, 1, first_name="Ana", last_name="Lopez")
    for field in ("due_date", "baby_birth_date"):
        if field in data:
            data[field] = (_today() + datetime.timedelta(days=int(data[field]))).isoformat()
    response = _post(client, 2, **data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Step 2 of 4" in html
    profile = UserProfile.objects.get(user=newcomer)
    assert profile.onboarding_step == 1
    assert profile.stage == ""


def test_postpartum_with_recent_birth_date_is_accepted(client, newcomer):
    _post(client, 1, first_name="Ana", last_name="Lopez")
    born = _today() - datetime.timedelta(days=40)
    _post(client, 2, stage="postpartum", baby_birth_date=born.isoformat(), due_date="2020-01-01")

    profile = UserProfile.objects.get(user=newcomer)
    assert (profile.stage, profile.baby_birth_date, profile.due_date) == ("postpartum", born, None)


def test_bad_time_zone_keeps_what_was_typed_with_a_clear_message(client, newcomer):
    _post(client, 1, first_name="Ana", last_name="Lopez")
    _post(client, 2, stage="other")
    response = client.post(URL, {"step": 3, "topics": ["sleep"], "timezone": "Mars/Olympus_Mons"})

    html = response.content.decode()
    assert "We don&#x27;t recognise the time zone “Mars/Olympus_Mons”" in html
    assert 'value="Mars/Olympus_Mons"' in html
    assert 'value="sleep" id="id_topics_2" checked' in html or ('value="sleep"' in html and "checked" in html)
    profile = UserProfile.objects.get(user=newcomer)
    assert profile.timezone == "America/Los_Angeles"
    assert profile.onboarding_step == 2


def test_missing_names_keep_the_member_on_step_one(client, newcomer):
    response = _post(client, 1, first_name="", last_name="Lopez", preferred_name="Ani")

    html = response.content.decode()
    assert "This field is required." in html
    assert 'value="Ani"' in html
    assert UserProfile.objects.get(user=newcomer).onboarding_step == 0
