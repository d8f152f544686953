"""Sign-up, verification, and the login rate limit (allauth with Bloom's adapter and form)."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import ConsentKind, ConsentRecord, User, UserPreferences, UserProfile
from accounts.services import member_records_ensure
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory

from .helpers import confirmation_path, signup_data

pytestmark = pytest.mark.django_db


def test_signup_page_shows_referral_and_marketing_fields_with_labels(client):
    response = client.get(reverse("account_signup"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_referral_source">How did you hear about us? (optional)' in html
    assert '<label for="id_marketing_consent">Yes, send me Bloom' in html
    # The consent box is explicit and starts unticked.
    box = re.search(r'<input type="checkbox" name="marketing_consent"[^>]*>', html).group(0)
    assert "checked" not in box
    assert "Signup · Bloom Psychology</title>" in html


def test_signup_creates_user_profile_preferences_and_consent_once(client, queued_mail, triggers):
    response = client.post(reverse("account_signup"), signup_data("new@example.com"))

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new@example.com")
    profile = UserProfile.objects.get(user=user)
    assert profile.referral_source == "A friend from my prenatal class"
    assert profile.marketing_consent is True
    assert profile.email_verified is False
    assert UserPreferences.objects.get(user=user).newsletter is True
    consent = ConsentRecord.objects.get(user=user, kind=ConsentKind.MARKETING)
    assert (consent.kind, consent.granted, consent.source) == (ConsentKind.MARKETING, True, "signup")
    assert consent.ip_address == "127.0.0.1"
    assert sorted(ConsentRecord.objects.filter(user=user).values_list("kind", flat=True)) == [
        ConsentKind.MARKETING,
        ConsentKind.PRIVACY,
        ConsentKind.TERMS,
    ]
    assert [t["trigger"] for t in triggers] == ["member_signed_up"]
    assert triggers[0]["email"] == "new@example.com"
    assert [m["to"] for m in queued_mail] == ["new@example.com"]
    assert "/accounts/confirm-email/" in queued_mail[0]["text_body"]


def test_signup_without_marketing_records_a_refusal(client, queued_mail, triggers):
    data = signup_data("quiet@example.com")
    del data["marketing_consent"]
    client.post(reverse("account_signup"), data)

    user = User.objects.get(email="quiet@example.com")
    assert user.profile.marketing_consent is False
    assert list(
        ConsentRecord.objects.filter(user=user, kind=ConsentKind.MARKETING).values_list("granted", flat=True)
    ) == [False]


def test_retried_signup_keeps_exactly_one_user_profile_and_preferences(client, queued_mail, triggers):
    client.post(reverse("account_signup"), signup_data("twice@example.com"))
    retry = client.post(reverse("account_signup"), signup_data("twice@example.com"))

    # The retry is told the account exists (and where to go); nothing is created twice.
    assert retry.status_code == 200
    assert "An account with this email address already exists." in retry.content.decode()
    assert User.objects.filter(email="twice@example.com").count() == 1
    user = User.objects.get(email="twice@example.com")
    assert UserProfile.objects.filter(user=user).count() == 1
    assert UserPreferences.objects.filter(user=user).count() == 1
    assert ConsentRecord.objects.filter(user=user).count() == 3  # terms, privacy, marketing
    assert [t["trigger"] for t in triggers] == ["member_signed_up"]
    assert len(queued_mail) == 1


def test_signup_sent_twice_at_once_creates_one_account_and_no_error(client, queued_mail, triggers, monkeypatch):
    """A double click: both requests pass the uniqueness check before the first commits."""
    from allauth.account.internal.flows import manage_email

    client.post(reverse("account_signup"), signup_data("double@example.com"))
    client.logout()
    monkeypatch.setattr(manage_email, "assess_unique_email", lambda email, user=None: True)

    second = client.post(reverse("account_signup"), signup_data("double@example.com"))

    assert second.status_code == 302
    assert second["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="double@example.com")
    assert UserProfile.objects.filter(user=user).count() == 1
    assert UserPreferences.objects.filter(user=user).count() == 1
    assert ConsentRecord.objects.filter(user=user).count() == 3  # terms, privacy, marketing
    assert EmailAddress.objects.filter(email__iexact="double@example.com").count() == 1
    assert [t["trigger"] for t in triggers] == ["member_signed_up"]


def test_member_records_ensure_is_idempotent(member):
    member_records_ensure(user=member)
    member_records_ensure(user=member, referral_source="Instagram")

    assert UserProfile.objects.filter(user=member).count() == 1
    assert UserPreferences.objects.filter(user=member).count() == 1
    assert UserProfile.objects.get(user=member).referral_source == "Instagram"


def test_duplicate_email_is_refused_with_a_clear_message_and_keeps_input(client, queued_mail, triggers):
    existing = UserFactory(email="taken@example.com")
    response = client.post(reverse("account_signup"), signup_data("Taken@Example.com"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "An account with this email address already exists." in html
    assert f'<a href="{reverse("account_login")}">Log in</a>' in html
    assert f'<a href="{reverse("account_reset_password")}">reset your password</a>' in html
    assert 'value="Taken@Example.com"' in html
    assert 'value="A friend from my prenatal class"' in html
    assert 'name="marketing_consent" id="id_marketing_consent" checked' in html
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert triggers == []
    assert ConsentRecord.objects.filter(user=existing).count() == 0
    assert queued_mail == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1A", "This password is too short. It must contain at least 10 characters."),
        ("password123", "This password is too common."),
        ("4815162342108", "This password is entirely numeric."),
    ],
)
def test_weak_password_is_refused_with_a_clear_message_and_keeps_input(client, queued_mail, password, message):
    data = signup_data("weak@example.com", password1=password, password2=password)
    response = client.post(reverse("account_signup"), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'value="weak@example.com"' in html
    assert 'value="A friend from my prenatal class"' in html
    assert not User.objects.filter(email="weak@example.com").exists()
    assert queued_mail == []


def test_mismatched_passwords_are_refused(client, queued_mail):
    response = client.post(reverse("account_signup"), signup_data("typo@example.com", password2="Other-password-99"))

    assert "You must type the same password each time." in response.content.decode()
    assert not User.objects.filter(email="typo@example.com").exists()


def test_verification_is_mandatory_then_confirming_mirrors_and_triggers_once(client, queued_mail, triggers):
    client.post(reverse("account_signup"), signup_data("verify@example.com"))
    user = User.objects.get(email="verify@example.com")

    # Not verified yet: signing in only re-sends the verification mail.
    client.logout()
    login = client.post(reverse("account_login"), {"login": "verify@example.com", "password": "Soft-morning-light-42"})
    assert login["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    path = confirmation_path(queued_mail, "verify@example.com")
    assert client.get(path).status_code == 200  # a page with a button, not a confirmation on GET
    assert EmailAddress.objects.get(user=user).verified is False

    response = client.post(path)
    assert response.status_code == 302
    profile = UserProfile.objects.get(user=user)
    assert profile.email_verified is True
    first_verified_at = profile.email_verified_at
    assert first_verified_at is not None
    assert [t["trigger"] for t in triggers] == ["member_signed_up", "email_verified"]

    # Confirming again changes nothing and fires nothing.
    client.post(path)
    profile.refresh_from_db()
    assert profile.email_verified_at == first_verified_at
    assert [t["trigger"] for t in triggers] == ["member_signed_up", "email_verified"]


def test_verified_member_signs_in_and_lands_on_the_dashboard(client, member):
    response = client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")


def test_sixth_failed_login_within_the_window_is_refused(client, member):
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": member.email, "password": "wrong-password-1"})
        assert "The email address and/or password you specified are not correct." in response.content.decode()

    # Even the right password is refused now, with a message saying why.
    response = client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_rate_limit_counters_live_in_redis(client, member):
    from django.core.cache import caches

    cache = caches["default"]
    assert cache.__class__.__name__ == "RedisCache"
    client.post(reverse("account_login"), {"login": member.email, "password": "wrong-password-1"})
    keys = cache._cache.get_client().keys(f"{cache.key_prefix}*rl*")
    assert keys, "allauth's rate-limit counter was not written to the Redis cache"


def test_profile_failure_rolls_back_the_whole_signup(client, monkeypatch, queued_mail):
    """User, profile, preferences and consent are written in one transaction: all or nothing."""
    import accounts.adapters

    def broken(**kwargs):
        raise RuntimeError("profile write failed")

    monkeypatch.setattr(accounts.adapters, "member_signup_complete", broken)
    with pytest.raises(RuntimeError):
        client.post(reverse("account_signup"), signup_data("atomic@example.com"))

    assert not User.objects.filter(email="atomic@example.com").exists()
    assert not EmailAddress.objects.filter(email="atomic@example.com").exists()
    assert queued_mail == []


def test_admin_sign_in_is_rate_limited_like_any_login(client):
    from tests.factories.accounts import StaffUserFactory

    staff = StaffUserFactory()
    login_url = client.get("/admin/login/?next=/admin/")["Location"]
    assert login_url == f"{reverse('account_login')}?next=/admin/"
    for _ in range(5):
        client.post(login_url, {"login": staff.email, "password": "wrong-password-1"})

    response = client.post(login_url, {"login": staff.email, "password": DEFAULT_PASSWORD})
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_probing_addresses_through_signup_is_rate_limited(client, settings):
    UserFactory(email="probe@example.com")
    per_minute = int(settings.ACCOUNT_RATE_LIMITS["signup"].split("/")[0])
    for _ in range(per_minute):
        assert client.post(reverse("account_signup"), signup_data("probe@example.com")).status_code == 200

    blocked = client.post(reverse("account_signup"), signup_data("probe@example.com"))
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.content.decode()
