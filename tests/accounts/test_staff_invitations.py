"""Staff onboarding: the owner invites a colleague with a role; she sets a password, then TOTP."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from accounts.models import AdminUser, StaffInvitation, User
from accounts.roles import roles_sync_defaults
from notifications.models import EmailQueue
from tests.factories.accounts import StaffInvitationFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_staffinvitation_add")
CHANGELIST = reverse("admin:accounts_staffinvitation_changelist")
GOOD_PASSWORD = "a-long-and-unusual-passphrase-42"
QUERIES_ON_THE_INVITATION_PAGE = 1  # the invitation and its role, in one query


@pytest.fixture
def owner(client):
    user = StaffUserFactory(is_superuser=True, first_name="Olive", last_name="Owner")
    client.force_login(user)
    return user


@pytest.fixture
def clinician_role():
    roles = {role.slug: role for role, _count in roles_sync_defaults()}
    return roles["clinician"]


def _invite(client, email: str, role) -> object:
    return client.post(ADD_URL, {"email": email, "role": role.pk})


def _link_in_mail(email: str) -> str:
    body = EmailQueue.objects.filter(to_email=email).latest("created_at").text_body
    return re.search(r"https?://\S+/staff/invitation/[^/\s]+/", body).group(0)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_the_owner_invites_a_colleague_and_the_email_carries_a_one_time_link(client, owner, clinician_role):
    response = _invite(client, "Nina.Nurse@Example.org", clinician_role)

    assert response.status_code == 302
    invitation = StaffInvitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "nina.nurse@example.org",
        clinician_role,
        owner,
    )
    mail = EmailQueue.objects.get(to_email="nina.nurse@example.org")
    assert mail.subject == "You're invited to the Bloom back office"
    assert "Olive Owner has invited you" in mail.text_body and "as Clinician" in mail.text_body
    token = _link_in_mail("nina.nurse@example.org").rstrip("/").rsplit("/", 1)[1]
    assert token not in invitation.token_hash  # only its digest is stored


def test_an_address_with_an_account_is_refused_with_a_sentence_and_the_form_kept(client, owner, clinician_role):
    UserFactory(email="member@example.org")

    response = _invite(client, "member@example.org", clinician_role)

    assert response.status_code == 200
    page = response.content.decode()
    assert "already has a Bloom account" in page
    assert 'value="member@example.org"' in page
    assert not StaffInvitation.objects.exists()


def test_a_second_pending_invitation_for_one_address_is_refused(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)

    response = _invite(client, "nina@example.org", clinician_role)

    assert "already has a pending invitation" in response.content.decode()
    assert StaffInvitation.objects.count() == 1


def test_accepting_makes_a_staff_account_with_the_role_and_a_verified_address(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    client.logout()

    page = client.get(link)
    assert page.status_code == 200
    assert "nina@example.org" in page.content.decode() and "Clinician" in page.content.decode()

    response = client.post(
        link, {"first_name": "Nina", "last_name": "Nurse", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == f"{reverse('mfa_activate_totp')}?next={reverse('admin:index')}"
    user = User.objects.get(email="nina@example.org")
    assert user.is_staff and not user.is_superuser and user.check_password(GOOD_PASSWORD)
    assert user.get_full_name() == "Nina Nurse"
    assert EmailAddress.objects.filter(user=user, email=user.email, verified=True, primary=True).exists()
    assert AdminUser.objects.get(user=user).role == clinician_role
    assert user.groups.filter(pk=clinician_role.group_id).exists()
    invitation = StaffInvitation.objects.get()
    assert invitation.accepted_user == user and invitation.accepted_at is not None
    # Signed in, but the back office waits for an authenticator.
    admin_page = client.get(reverse("admin:index"))
    assert admin_page.status_code == 302 and admin_page.url.startswith(reverse("mfa_activate_totp"))


def test_mismatched_passwords_keep_what_she_typed(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    client.logout()

    response = client.post(
        link, {"first_name": "Nina", "last_name": "Nurse", "password1": GOOD_PASSWORD, "password2": "other-words-99"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "The two passwords are not the same." in page
    assert 'value="Nina"' in page
    assert not User.objects.filter(email="nina@example.org").exists()


def test_a_weak_password_is_refused_by_the_validators(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    client.logout()

    response = client.post(link, {"first_name": "Nina", "password1": "password", "password2": "password"})

    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not User.objects.filter(email="nina@example.org").exists()


def test_a_link_works_once(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    client.logout()
    form = {"first_name": "Nina", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    client.post(link, form)
    client.logout()

    again = client.post(link, form)

    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert User.objects.filter(email="nina@example.org").count() == 1


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"expires_at": timezone.now() - datetime.timedelta(minutes=1)}, "has expired"),
        ({"revoked_at": timezone.now()}, "not valid any more"),
    ],
)
def test_expired_and_revoked_links_say_what_to_do(client, owner, clinician_role, change, sentence):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    StaffInvitation.objects.update(**change)
    client.logout()

    response = client.get(link)

    assert response.status_code == 410
    assert sentence in response.content.decode()


def test_an_unknown_token_is_refused(client):
    response = client.get(reverse("accounts:staff_invitation_accept", args=["not-a-token"]))

    assert response.status_code == 410


def test_send_again_replaces_the_link(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)
    old = _path(_link_in_mail("nina@example.org"))
    invitation = StaffInvitation.objects.get()

    client.post(CHANGELIST, {"action": "send_again", "_selected_action": [invitation.pk]})

    new = _path(_link_in_mail("nina@example.org"))
    assert new != old
    assert EmailQueue.objects.filter(to_email="nina@example.org").count() == 2
    client.logout()
    assert client.get(old).status_code == 410
    assert client.get(new).status_code == 200


def test_revoking_asks_first_then_the_link_stops_working(client, owner, clinician_role):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    invitation = StaffInvitation.objects.get()
    selected = {"action": "revoke", "_selected_action": [invitation.pk]}

    first = client.post(CHANGELIST, selected)
    assert first.status_code == 200 and "Revoke these invitations?" in first.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is None

    client.post(CHANGELIST, {**selected, "confirm": "yes"})

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    client.logout()
    assert client.get(link).status_code == 410


def test_the_invitation_list_shows_each_state(client, owner):
    StaffInvitationFactory(email="pending@example.org")
    StaffInvitationFactory(email="late@example.org", expires_at=timezone.now() - datetime.timedelta(days=1))

    page = client.get(CHANGELIST).content.decode()

    assert "Pending" in page and "Expired" in page


def test_nobody_ticks_email_verified_by_hand(client, owner):
    address = EmailAddress.objects.create(user=UserFactory(), email="someone@example.org", verified=False)
    url = reverse("admin:account_emailaddress_change", args=[address.pk])

    page = client.get(url).content.decode()
    client.post(url, {"user": address.user_id, "email": address.email, "verified": "on", "primary": "on"})
    listing = client.get(reverse("admin:account_emailaddress_changelist")).content.decode()

    assert 'name="verified"' not in page
    address.refresh_from_db()
    assert address.verified is False
    assert "make_verified" not in listing


def test_the_invitation_page_reads_a_fixed_number_of_queries(client, owner, clinician_role, django_assert_num_queries):
    _invite(client, "nina@example.org", clinician_role)
    link = _path(_link_in_mail("nina@example.org"))
    client.logout()

    with django_assert_num_queries(QUERIES_ON_THE_INVITATION_PAGE):
        assert client.get(link).status_code == 200


def test_an_invitation_opens_read_only(client, owner):
    invitation = StaffInvitationFactory(email="pending@example.org")

    page = client.get(reverse("admin:accounts_staffinvitation_change", args=[invitation.pk]))

    assert page.status_code == 200
    assert "pending@example.org" in page.content.decode()
    assert 'name="email"' not in page.content.decode()
