"""allauth's pages render inside Bloom's layout with labelled fields and a real title."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "title", "label"),
    [
        ("account_login", "Sign In", '<label for="id_login">'),
        ("account_signup", "Signup", '<label for="id_password1">'),
        ("account_reset_password", "Password Reset", '<label for="id_email">'),
        ("account_email_verification_sent", "Verify Your Email Address", None),
    ],
)
def test_entrance_pages(client, name, title, label):
    response = client.get(reverse(name))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<title>{title} · Bloom Psychology</title>" in html
    assert 'class="site-header"' in html
    if label:
        assert label in html


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("account_email", "Email Address"),
        ("account_change_password", "Change Password"),
        ("mfa_index", "Two-Factor Authentication"),
    ],
)
def test_manage_pages(client, member, name, title):
    client.force_login(member)
    response = client.get(reverse(name))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<title>{title} · Bloom Psychology</title>" in html
    assert 'class="site-header"' in html


def test_confirm_page_renders_with_a_button(client, member):
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    address = EmailAddress.objects.get(user=member)
    address.verified = False
    address.save()
    key = EmailConfirmationHMAC(address).key
    html = client.get(reverse("account_confirm_email", args=[key])).content.decode()
    assert "Confirm Email Address · Bloom Psychology</title>" in html
    assert member.email in html
    assert 'type="submit"' in html
