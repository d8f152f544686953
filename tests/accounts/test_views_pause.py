"""The break page: one click to start a pause, a banner on the dashboard, one click to come back."""

import pytest
from django.urls import reverse

from accounts.models import MemberPause
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    user = UserFactory()
    user.profile.onboarding_completed = True
    user.profile.save()
    client.force_login(user)
    return user


def test_a_member_starts_a_break_in_one_click_and_sees_it_on_her_dashboard(client, member):
    page = client.get(reverse("accounts:pause"))
    assert page.status_code == 200
    assert "Start my break" in page.content.decode() and "988" in page.content.decode()

    response = client.post(reverse("accounts:pause"), {"weeks": "3", "reason": "A birth"}, follow=True)
    assert "Your break has started" in response.content.decode()
    pause = MemberPause.objects.get(user=member)
    assert (pause.ends_at - pause.starts_at).days == 21 and pause.reason == "A birth"

    dashboard = client.get(reverse("accounts:dashboard")).content.decode()
    assert "You're taking a break" in dashboard and f"{pause.ends_at:%B}" in dashboard
    assert "I'm back" in dashboard


def test_coming_back_is_one_click_and_recorded(client, member):
    client.post(reverse("accounts:pause"), {"weeks": "2"})
    response = client.post(reverse("accounts:pause_end"), follow=True)
    assert "Welcome back" in response.content.decode()
    pause = MemberPause.objects.get(user=member)
    assert pause.ended_at is not None
    assert "You're taking a break" not in client.get(reverse("accounts:dashboard")).content.decode()
    assert "Start my break" in client.get(reverse("accounts:pause")).content.decode()


def test_a_length_not_offered_is_refused_with_the_form_kept(client, member):
    response = client.post(reverse("accounts:pause"), {"weeks": "52", "reason": "A loss"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Select a valid choice" in body and 'value="A loss" selected' in body
    assert not MemberPause.objects.exists()


def test_coming_back_needs_a_post_and_touches_only_her_own_pause(client, member):
    other = UserFactory()
    other_client = type(client)()
    other_client.force_login(other)
    other_client.post(reverse("accounts:pause"), {"weeks": "4"})
    assert client.get(reverse("accounts:pause_end")).status_code == 405
    client.post(reverse("accounts:pause_end"))
    assert MemberPause.objects.get(user=other).ended_at is None


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("accounts:pause"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_staff_see_breaks_by_date_and_reading_why_is_audited(client):
    from accounts.models import AdminActivityLog
    from tests.factories.accounts import MemberPauseFactory, StaffUserFactory

    pause = MemberPauseFactory(reason="A hospital stay")
    client.force_login(StaffUserFactory(is_superuser=True))
    listing = client.get(reverse("admin:accounts_memberpause_changelist"))
    assert listing.status_code == 200 and "A hospital stay" not in listing.content.decode()
    assert not AdminActivityLog.objects.exists()
    detail = client.get(reverse("admin:accounts_memberpause_change", args=[pause.pk]))
    assert "A hospital stay" in detail.content.decode()
    read = AdminActivityLog.objects.get()
    assert (read.action, read.object_type, read.object_id) == ("view_health", "accounts.memberpause", str(pause.pk))
