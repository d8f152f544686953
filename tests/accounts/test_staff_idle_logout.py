"""Automatic logoff: a staff session ends after BLOOM_STAFF_IDLE_MINUTES without a request."""

import time

import pytest
from django.urls import reverse

from accounts.middleware import StaffIdleLogoutMiddleware
from accounts.models import SecurityEvent
from tests.factories.accounts import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY = StaffIdleLogoutMiddleware.SESSION_KEY


def _seen_minutes_ago(client, minutes: int) -> None:
    session = client.session
    session[KEY] = int(time.time()) - minutes * 60
    session.save()


@pytest.fixture
def staff_client(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


def test_a_fresh_staff_session_is_stamped_and_kept(staff_client, settings):
    settings.BLOOM_STAFF_IDLE_MINUTES = 30
    assert staff_client.get(reverse("admin:index")).status_code == 200
    assert staff_client.session[KEY] == pytest.approx(time.time(), abs=5)


def test_staff_idle_past_the_limit_are_signed_out_with_a_kind_message(staff_client, settings):
    settings.BLOOM_STAFF_IDLE_MINUTES = 30
    staff_client.get(reverse("admin:index"))
    _seen_minutes_ago(staff_client, 31)

    response = staff_client.get(reverse("admin:accounts_user_changelist"), follow=True)

    first_hop = response.redirect_chain[0][0]
    assert first_hop.startswith(reverse("account_login"))
    assert "next=" in first_hop
    assert "_auth_user_id" not in staff_client.session
    assert "signed out after 30 minutes without activity" in response.content.decode()
    assert SecurityEvent.objects.filter(event_type="staff_idle_logout").count() == 1


def test_staff_active_within_the_limit_stay_signed_in(staff_client, settings):
    settings.BLOOM_STAFF_IDLE_MINUTES = 30
    staff_client.get(reverse("admin:index"))
    _seen_minutes_ago(staff_client, 29)

    assert staff_client.get(reverse("admin:index")).status_code == 200
    assert "_auth_user_id" in staff_client.session


def test_members_are_not_signed_out_by_the_staff_limit(client, settings):
    settings.BLOOM_STAFF_IDLE_MINUTES = 30
    client.force_login(UserFactory())
    _seen_minutes_ago(client, 600)

    assert client.get(reverse("accounts:dashboard")).status_code == 200
    assert "_auth_user_id" in client.session


def test_zero_turns_the_limit_off(staff_client, settings):
    settings.BLOOM_STAFF_IDLE_MINUTES = 0
    _seen_minutes_ago(staff_client, 600)

    assert staff_client.get(reverse("admin:index")).status_code == 200
