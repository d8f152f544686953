"""Consent at sign-up, the versioned terms and privacy pages, and asking again on a new version."""

import dataclasses

import pytest
from django.urls import reverse

from accounts import consent
from accounts.models import ConsentKind, ConsentRecord, User
from tests.accounts.helpers import signup_data
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (test browser)"


def _bump(monkeypatch, kind, version):
    policies = dict(consent.POLICIES)
    policies[kind] = dataclasses.replace(policies[kind], version=version)
    monkeypatch.setattr(consent, "POLICIES", policies)
    # The modules that imported the registry read the same dict.
    import accounts.selectors.consent as selectors_consent
    import accounts.services.consent as services_consent

    monkeypatch.setattr(selectors_consent, "POLICIES", policies)
    monkeypatch.setattr(services_consent, "POLICIES", policies)


def test_signup_records_terms_and_privacy_with_versions_ip_and_user_agent(client, queued_mail, triggers):
    response = client.post(reverse("account_signup"), signup_data("new@example.com"), HTTP_USER_AGENT=UA)

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    rows = {r.kind: r for r in ConsentRecord.objects.filter(user=user)}
    assert set(rows) == {ConsentKind.TERMS, ConsentKind.PRIVACY, ConsentKind.MARKETING}
    for kind in (ConsentKind.TERMS, ConsentKind.PRIVACY):
        row = rows[kind]
        assert row.granted and row.source == "signup"
        assert row.text_version == consent.POLICIES[kind].version
        assert (row.ip_address, row.user_agent) == ("127.0.0.1", UA)
        assert row.purpose == consent.POLICIES[kind].purpose
        assert row.email == "new@example.com"
    assert rows[ConsentKind.MARKETING].purpose == consent.MARKETING_PURPOSE
    assert (user.profile.terms_version, user.profile.privacy_version) == (
        consent.POLICIES[ConsentKind.TERMS].version,
        consent.POLICIES[ConsentKind.PRIVACY].version,
    )


def test_signup_without_agreeing_is_refused_kindly_and_keeps_what_she_typed(client, queued_mail, triggers):
    data = signup_data("unsure@example.com")
    del data["agree_terms"]
    response = client.post(reverse("account_signup"), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Please tick this box to create your account" in html
    assert 'value="unsure@example.com"' in html
    assert not User.objects.filter(email="unsure@example.com").exists()
    assert not ConsentRecord.objects.exists()


def test_signup_page_links_the_terms_and_privacy_notice(client):
    html = client.get(reverse("account_signup")).content.decode()
    assert f'<a href="{reverse("accounts:terms")}"' in html
    assert f'<a href="{reverse("accounts:privacy")}"' in html


@pytest.mark.parametrize(("url", "kind", "words"), [("/privacy/", "privacy", "Stripe"), ("/terms/", "terms", "988")])
def test_policy_pages_are_public_with_their_version_and_in_the_footer(client, url, kind, words):
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Version {consent.POLICIES[kind].version}" in html
    assert words in html
    assert '<a href="/privacy/">Privacy notice</a>' in html and '<a href="/terms/">Terms of use</a>' in html


def test_a_new_terms_version_asks_her_again_and_her_agreement_writes_new_records(client, monkeypatch):
    member = UserFactory()
    client.force_login(member)
    assert client.get(reverse("accounts:dashboard")).status_code == 200

    _bump(monkeypatch, ConsentKind.TERMS, "2027-01-15")
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:policies_agree"))
    page = client.get(response["Location"])
    assert "Terms of use" in page.content.decode() and "2027-01-15" in page.content.decode()

    # Signing out, her data and crisis help stay open while she has not agreed.
    for open_url in (reverse("account_logout"), reverse("accounts:security"), reverse("accounts:screening_support")):
        assert client.get(open_url).status_code == 200, open_url

    # Without the tick nothing is written and she is told why.
    refused = client.post(reverse("accounts:policies_agree"), {"next": "/dashboard/"})
    assert "Please tick the box to agree" in refused.content.decode()
    assert not ConsentRecord.objects.filter(user=member).exists()

    agreed = client.post(reverse("accounts:policies_agree"), {"agree": "1", "next": "/dashboard/"}, HTTP_USER_AGENT=UA)
    assert agreed.status_code == 302 and agreed["Location"] == "/dashboard/"
    [record] = ConsentRecord.objects.filter(user=member)
    assert (record.kind, record.text_version, record.source, record.user_agent) == (
        ConsentKind.TERMS,
        "2027-01-15",
        "policy_update",
        UA,
    )
    assert client.get(reverse("accounts:dashboard")).status_code == 200


def test_a_member_who_never_agreed_is_asked_and_a_foreign_next_is_ignored(client):
    member = UserFactory(policies_agreed=False)
    client.force_login(member)
    assert client.get(reverse("accounts:dashboard")).status_code == 302
    response = client.post(reverse("accounts:policies_agree"), {"agree": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/dashboard/"
    assert set(ConsentRecord.objects.filter(user=member).values_list("kind", flat=True)) == {
        ConsentKind.TERMS,
        ConsentKind.PRIVACY,
    }
