"""allauth's forms through Bloom's one form template (templates/allauth/elements/fields.html)."""

import re

import pytest
from django.urls import reverse

from tests.factories.accounts import UserFactory

from .helpers import signup_data

pytestmark = pytest.mark.django_db


def _field_block(html, name):
    start = html.index(f'name="{name}"')
    block_start = html.rindex('<div class="field', 0, start)
    nxt = html.find('<div class="field', start)
    return html[block_start : nxt if nxt != -1 else len(html)]


def test_a_weak_password_error_sits_under_password_not_email(client):
    data = signup_data("weak@example.com")
    data["password1"] = data["password2"] = "123"
    html = client.post(reverse("account_signup"), data).content.decode()

    email_block = _field_block(html, "email")
    password_block = _field_block(html, "password1")
    assert "errorlist" not in email_block
    assert 'class="errorlist" id="id_password1_error"' in password_block
    assert 'aria-invalid="true"' in password_block
    assert "field-invalid" in password_block


def test_labels_have_no_trailing_colons(client):
    html = client.get(reverse("account_signup")).content.decode()
    labels = re.findall(r"<label[^>]*>(.*?)</label>", html, re.S)
    assert labels, "the sign-up page renders labels"
    assert not [label for label in labels if label.strip().endswith(":")]


def test_wrong_password_on_login_is_one_alert_before_the_fields(client):
    user = UserFactory()
    html = client.post(reverse("account_login"), {"login": user.email, "password": "not-it"}).content.decode()
    alert = html.index('class="form-errors" role="alert"')
    assert alert < html.index('name="login"')
    assert "errorlist" not in _field_block(html, "login")
