"""Account security for members: changing the password and the email address through allauth."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import SecurityEvent, User, UserProfile
from tests.factories.accounts import DEFAULT_PASSWORD

from .helpers import confirmation_path

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "New-quiet-garden-77"


@pytest.fixture
def signed_in(client, member):
    client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})
    return member


def test_member_changes_password_and_signs_in_with_the_new_one(client, signed_in):
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert SecurityEvent.objects.filter(user=signed_in, event_type="password_changed").count() == 1

    client.post(reverse("account_logout"))
    old = client.post(reverse("account_login"), {"login": signed_in.email, "password": DEFAULT_PASSWORD})
    assert old.status_code == 200
    assert "_auth_user_id" not in client.session
    new = client.post(reverse("account_login"), {"login": signed_in.email, "password": NEW_PASSWORD})
    assert new["Location"] == reverse("accounts:dashboard")


def test_wrong_current_password_is_refused_and_nothing_changes(client, signed_in):
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not-my-password-1", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Please type your current password." in response.content.decode()
    signed_in.refresh_from_db()
    assert signed_in.check_password(DEFAULT_PASSWORD)


def test_weak_new_password_is_refused_with_the_reason(client, signed_in):
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": "password123", "password2": "password123"},
    )
    assert "This password is too common." in response.content.decode()
    signed_in.refresh_from_db()
    assert signed_in.check_password(DEFAULT_PASSWORD)


def test_member_changes_email_after_confirming_the_new_address(client, signed_in, queued_mail, triggers):
    old_email = signed_in.email
    first_verified_at = UserProfile.objects.get(user=signed_in).email_verified_at

    response = client.post(reverse("account_email"), {"email": "new.address@example.com", "action_add": ""})
    assert response.status_code == 302
    # Until the new address is confirmed the old one stays the sign-in address.
    signed_in.refresh_from_db()
    assert signed_in.email == old_email

    client.post(confirmation_path(queued_mail, "new.address@example.com"))

    signed_in.refresh_from_db()
    assert signed_in.email == "new.address@example.com"
    assert list(EmailAddress.objects.filter(user=signed_in).values_list("email", "verified", "primary")) == [
        ("new.address@example.com", True, True)
    ]
    profile = UserProfile.objects.get(user=signed_in)
    assert profile.email_verified is True
    assert profile.email_verified_at > first_verified_at
    assert SecurityEvent.objects.filter(user=signed_in, event_type="email_changed").count() == 1
    assert "email_verified" not in [t["trigger"] for t in triggers]  # the welcome sequence does not restart


def test_email_of_another_account_can_never_be_taken_over(client, signed_in, queued_mail):
    """Adding an address stays enumeration-safe (allauth): the other account's owner gets a
    confirmation mail they can ignore, and confirming it cannot move the address over."""
    from tests.factories.accounts import UserFactory

    other = UserFactory(email="other@example.com")
    old_email = signed_in.email
    client.post(reverse("account_email"), {"email": "other@example.com", "action_add": ""})
    client.post(confirmation_path(queued_mail, "other@example.com"))

    signed_in.refresh_from_db()
    assert signed_in.email == old_email
    assert not EmailAddress.objects.filter(user=signed_in, email="other@example.com", verified=True).exists()
    assert User.objects.get(pk=other.pk).email == "other@example.com"
    assert EmailAddress.objects.get(user=other).verified is True
