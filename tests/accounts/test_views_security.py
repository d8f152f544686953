"""Account security: password and email changes, failed sign-ins, lockouts, the client address
behind proxies and the owners' alert when sign-ins are refused in bursts."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import SecurityEvent, User, UserProfile
from tests.factories.accounts import DEFAULT_PASSWORD, StaffUserFactory

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


# --- Sign-in failures, lockouts and the client address (docs/adr/0016-0018) ------------------

WRONG_PASSWORD = "not-the-password-1"
TOO_MANY = "Too many failed login attempts. Try again later."


@pytest.fixture
def ratelimit_clock_held(monkeypatch):
    """Hold django-ratelimit's clock still so a burst never straddles one of its fixed windows."""
    import time as real_time

    import django_ratelimit.core

    now = real_time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", type("HeldClock", (), {"time": staticmethod(lambda: now)}))


def _log_in(client, email, password=DEFAULT_PASSWORD, **meta):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **meta)


def _totp_secret(user) -> str:
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    return get_adapter().decrypt(Authenticator.objects.get(user=user, type="totp").data["secret"])


def _totp_code(user) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(_totp_secret(user), next(yield_hotp_counters_from_time())))


def _wrong_totp_code(user) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    valid = {format_hotp_value(hotp_value(_totp_secret(user), c)) for c in yield_hotp_counters_from_time()}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


def _failures():
    from accounts.services import SIGN_IN_FAILURES

    return SecurityEvent.objects.filter(event_type__in=SIGN_IN_FAILURES)


def _events(event_type, **filters):
    return SecurityEvent.objects.filter(event_type=event_type, **filters)


def test_a_wrong_password_is_a_security_event_and_the_password_is_not_kept(client, member):
    response = _log_in(client, member.email.upper(), WRONG_PASSWORD, REMOTE_ADDR="198.51.100.20")

    assert response.status_code == 200
    event = _events("login_failed").get()
    assert event.user == member
    assert event.details == {"login": member.email}
    assert event.ip_address == "198.51.100.20"
    assert event.path == reverse("account_login")
    assert WRONG_PASSWORD not in str(event.details)


def test_a_sign_in_for_an_address_without_an_account_is_recorded_too(client):
    _log_in(client, "nobody@example.com", WRONG_PASSWORD)

    event = _events("login_failed").get()
    assert event.user is None
    assert event.details == {"login": "nobody@example.com"}


def test_the_sixth_wrong_password_is_refused_by_the_lockout_and_recorded(client, member):
    for _ in range(5):
        assert TOO_MANY not in _log_in(client, member.email, WRONG_PASSWORD).content.decode()
    locked = _log_in(client, member.email, DEFAULT_PASSWORD)  # even the right password now

    assert TOO_MANY in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert _events("login_failed", user=member).count() == 5
    assert _events("login_locked_out", user=member).count() == 1


def test_the_lockout_is_per_account_whatever_the_address(client, member):
    for n in range(5):
        _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR=f"198.51.100.{n + 1}")
    response = _log_in(client, member.email, REMOTE_ADDR="203.0.113.77")

    assert TOO_MANY in response.content.decode()
    assert _events("login_locked_out", ip_address="203.0.113.77", user=member).exists()


def test_a_wrong_mfa_code_and_the_mfa_lockout_are_security_events(client):
    staff = StaffUserFactory()
    _log_in(client, staff.email)
    for _ in range(5):
        response = client.post(reverse("mfa_authenticate"), {"code": _wrong_totp_code(staff)})
        assert "Incorrect code." in response.content.decode()
    locked = client.post(reverse("mfa_authenticate"), {"code": _totp_code(staff)})

    assert TOO_MANY in locked.content.decode()
    assert "_auth_user_id" not in client.session
    failed = _events("mfa_failed", user=staff)
    assert failed.count() == 5
    assert failed.first().details == {"login": staff.email, "type": "totp", "reauthentication": False}
    assert _events("mfa_locked_out", user=staff).get().details == {"login": staff.email, "reauthentication": False}
    assert not _events("login_failed").exists()  # the password was right


def test_using_a_recovery_code_is_a_security_event(client):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    staff = StaffUserFactory()
    codes = RecoveryCodes.activate(staff).get_unused_codes()
    _log_in(client, staff.email)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)
    event = _events("recovery_code_used").get()
    assert event.user == staff
    assert event.details == {"codes_left": len(codes) - 1}


def test_one_staff_members_bad_codes_do_not_lock_out_a_colleague_on_the_same_network(client):
    """The office shares one address: A's lockout is A's alone (per account, key before IP)."""
    office = {"REMOTE_ADDR": "192.0.2.10"}
    alice, bea = StaffUserFactory(), StaffUserFactory()
    _log_in(client, alice.email, **office)
    for _ in range(12):
        client.post(reverse("mfa_authenticate"), {"code": _wrong_totp_code(alice)}, **office)
    assert TOO_MANY in client.post(reverse("mfa_authenticate"), {"code": _totp_code(alice)}, **office).content.decode()

    colleague = Client()
    assert _log_in(colleague, bea.email, **office)["Location"] == reverse("mfa_authenticate")
    signed_in = colleague.post(reverse("mfa_authenticate"), {"code": _totp_code(bea)}, **office)

    assert signed_in.status_code == 302
    assert colleague.session["_auth_user_id"] == str(bea.pk)
    assert not _events("mfa_locked_out", user=bea).exists()
    assert _events("mfa_locked_out", user=alice).count() == 8


def test_a_spoofed_x_forwarded_for_does_not_reset_the_sign_in_limit(client, settings):
    """No trusted proxy: ten failures from one address, each claiming another origin, spend the
    address's allowance; the eleventh is refused whatever it claims."""
    settings.BLOOM_TRUSTED_PROXY_COUNT = 0
    for n in range(10):
        _log_in(
            client,
            f"guess{n}@example.com",
            WRONG_PASSWORD,
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        )
    response = _log_in(
        client, "guess-more@example.com", WRONG_PASSWORD, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="10.1.1.1"
    )

    assert TOO_MANY in response.content.decode()
    assert set(_failures().values_list("ip_address", flat=True).distinct()) == {"198.51.100.9"}


def test_a_spoofed_x_forwarded_for_does_not_reset_a_form_limit(client, settings, ratelimit_clock_held):
    settings.BLOOM_TRUSTED_PROXY_COUNT = 0
    from content.views import SIGNUP_LIMIT

    def sign_up(n, forwarded):
        return client.post(
            reverse("content:newsletter_signup"),
            {"email": f"parent{n}@example.org", "first_name": "Jo", "source": "footer"},
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    limit = int(SIGNUP_LIMIT.split("/")[0])
    for n in range(limit):
        assert sign_up(n, f"10.9.9.{n}").status_code == 302
    assert sign_up(limit, "10.1.1.1").status_code == 429


def test_behind_one_trusted_proxy_each_client_has_its_own_limit_and_address(client, settings, member):
    settings.BLOOM_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.254"
    for n in range(10):
        # The client prepends a made-up address; the proxy appends the one it really saw.
        _log_in(
            client,
            f"guess{n}@example.com",
            WRONG_PASSWORD,
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 198.51.100.9",
        )
    refused = _log_in(
        client,
        "guess-more@example.com",
        WRONG_PASSWORD,
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="10.1.1.1, 198.51.100.9",
    )
    assert TOO_MANY in refused.content.decode()
    assert set(_failures().values_list("ip_address", flat=True).distinct()) == {"198.51.100.9"}

    # Another client behind the same proxy is not affected, and its session records its address.
    other = Client()
    response = _log_in(other, member.email, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(member.pk)


def test_staff_sessions_record_the_client_address_behind_a_trusted_proxy(client, settings):
    from accounts.models import AdminSession

    settings.BLOOM_TRUSTED_PROXY_COUNT = 1
    staff = StaffUserFactory(mfa=False)
    _log_in(client, staff.email, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.61")

    assert AdminSession.objects.get(admin_user__user=staff).ip_address == "203.0.113.61"


# --- Burst alerts -----------------------------------------------------------------------------


@pytest.fixture
def owner(db):
    from accounts.models import AdminUser
    from accounts.services import admin_user_role_set
    from tests.factories.accounts import AdminRoleFactory

    role = AdminRoleFactory(slug="owner", name="Owner")
    user = StaffUserFactory(email="owner@bloom.test")
    admin_user_role_set(admin_user=AdminUser.objects.get(user=user), role=role)
    return user


def _burst_mail():
    from notifications.models import EmailQueue

    return EmailQueue.objects.filter(template_key="accounts/staff_sign_in_burst")


def test_ten_refused_sign_ins_for_one_account_alert_the_owners_once(client, member, owner):
    StaffUserFactory(email="support@bloom.test")  # staff without the owner role hear nothing
    for n in range(9):
        _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR=f"198.51.100.{n + 1}")
    assert not _burst_mail().exists()

    _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR="198.51.100.10")  # five failed, five locked out
    mail = _burst_mail().get()
    assert mail.to_email == "owner@bloom.test"
    assert member.email in mail.subject
    assert "10 for the account" in mail.text_body
    assert "/admin/accounts/securityevent/?q=" in mail.text_body
    burst = _events("sign_in_burst").get()
    assert burst.severity == SecurityEvent.Severity.CRITICAL
    assert burst.details["subjects"] == [{"subject": "account", "value": member.email}]

    for n in range(5):
        _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR=f"198.51.100.{n + 20}")
    assert _burst_mail().count() == 1
    assert _events("sign_in_burst").count() == 1


def test_a_burst_from_one_address_across_accounts_alerts_once_naming_the_address(client, owner):
    for n in range(14):
        _log_in(client, f"guess{n}@example.com", WRONG_PASSWORD, REMOTE_ADDR="198.51.100.99")

    mail = _burst_mail().get()
    assert "the network address 198.51.100.99" in mail.text_body
    assert _events("sign_in_burst").get().details["subjects"] == [{"subject": "address", "value": "198.51.100.99"}]


def test_one_alert_names_both_the_account_and_the_address_when_both_burst(client, member, owner):
    for _ in range(10):
        _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR="198.51.100.42")

    mail = _burst_mail().get()
    assert f"the account {member.email}" in mail.text_body
    assert "the network address 198.51.100.42" in mail.text_body


def test_without_an_owner_the_alert_goes_to_the_care_team_inbox(client, member, settings):
    for _ in range(10):
        _log_in(client, member.email, WRONG_PASSWORD)

    assert list(_burst_mail().values_list("to_email", flat=True)) == [settings.BLOOM_STAFF_ALERT_EMAIL]


def test_a_burst_that_goes_on_alerts_again_one_window_later(client, member, owner):
    import datetime

    from django.utils import timezone

    for _ in range(10):
        _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR="198.51.100.5")
    assert _burst_mail().count() == 1

    SecurityEvent.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=11))
    for _ in range(9):
        _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR="198.51.100.5")
    assert _burst_mail().count() == 1
    _log_in(client, member.email, WRONG_PASSWORD, REMOTE_ADDR="198.51.100.5")
    assert _burst_mail().count() == 2
