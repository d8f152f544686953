"""Absolute links follow the configured site (bloom.links, SITE_URL), not a request's host.

`make run` sets BLOOM_SITE_URL from PORT; these tests serve on another port than the one a
request names ("testserver") and check that mail, certificates and notices point at it.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from billing import notices
from bloom.links import absolute_reverse, absolute_url
from courses.certificates import certificate_verify_url
from notifications.models import EmailQueue
from tests.accounts.helpers import signup_data
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory
from tests.factories.courses import CourseCertificateFactory

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8123"
LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _served_on_8123(settings):
    settings.SITE_URL = SITE


def _links(text: str) -> list[str]:
    return LINK.findall(text)


def _mail_with(to: str, fragment: str) -> EmailQueue:
    rows = [row for row in EmailQueue.objects.filter(to_email=to) if fragment in row.text_body]
    assert len(rows) == 1, [row.subject for row in EmailQueue.objects.filter(to_email=to)]
    return rows[0]


def test_the_helper_joins_paths_to_the_configured_site():
    assert absolute_url("/courses/") == f"{SITE}/courses/"
    assert absolute_url("courses/") == f"{SITE}/courses/"
    assert absolute_reverse("courses:course_detail", "calm") == f"{SITE}/courses/calm/"


def test_verification_mail_points_at_the_served_port_and_its_link_confirms(client):
    client.post(reverse("account_signup"), signup_data("port@example.com"))
    mail = _mail_with("port@example.com", "/accounts/confirm-email/")
    links = [link for link in _links(mail.text_body) if "/accounts/confirm-email/" in link]
    assert links and all(link.startswith(f"{SITE}/accounts/confirm-email/") for link in links)
    assert "testserver" not in mail.text_body + mail.html_body

    path = links[0].removeprefix(SITE)
    assert client.post(path).status_code == 302
    from allauth.account.models import EmailAddress

    assert EmailAddress.objects.get(email="port@example.com").verified is True


def test_password_reset_and_unknown_account_mail_point_at_the_served_port(client):
    member = UserFactory()
    client.post(reverse("account_reset_password"), {"email": member.email})
    reset = _mail_with(member.email, "/accounts/password/reset/key/")
    assert [link for link in _links(reset.text_body) if "/accounts/" in link]
    assert all(link.startswith(SITE) for link in _links(reset.text_body) if "/accounts/" in link)

    client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    unknown = _mail_with("nobody@example.com", reverse("account_signup"))
    assert f"{SITE}{reverse('account_signup')}" in unknown.text_body
    assert "testserver" not in reset.text_body + unknown.text_body


def test_certificate_verify_url_points_at_the_served_port():
    certificate = CourseCertificateFactory()
    url = certificate_verify_url(certificate)
    assert url == SITE + reverse("courses:certificate_verify", args=[certificate.verification_code])


def test_billing_notice_links_point_at_the_served_port():
    payment = PaymentIntentFactory(failure_message="Your card was declined.")
    notices.payment_failed(payment=payment)
    mail = _mail_with(payment.user.email, "did not go through")
    assert f"{SITE}{reverse('billing:billing_home')}" in mail.text_body
    assert _links(mail.text_body) and all(link.startswith(SITE) for link in _links(mail.text_body))
