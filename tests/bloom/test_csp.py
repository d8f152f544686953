"""The Content-Security-Policy header: strict on the portal, inline styles only in the admin,
the 500 page's own style block by hash (docs/adr/0140). tests/bloom/test_browser_csp.py walks
the pages in a browser; this checks the header itself."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.urls import reverse

from tests.factories.accounts import StaffUserFactory


def _directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_portal_pages_allow_no_inline_code_and_only_stripe_from_outside(client, db):
    directives = _directives(client.get(reverse("home")))

    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert not any("unsafe" in value for values in directives.values() for value in values)


def test_the_admin_may_use_inline_styles_but_never_inline_scripts(client, db):
    staff = StaffUserFactory(is_superuser=True)
    client.force_login(staff)
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": 0}, {"method": "mfa", "at": 0}]
    session.save()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    directives = _directives(response)

    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert not any("unsafe-eval" in value for values in directives.values() for value in values)


@pytest.mark.urls("tests.bloom.error_urls")
def test_the_500_page_allows_exactly_its_own_style_block(client, db):
    client.raise_request_exception = False
    response = client.get("/test-errors/boom/")
    assert response.status_code == 500
    style = re.search(r"<style>(.*?)</style>", response.content.decode(), re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()

    assert _directives(response)["style-src"] == ["'self'", f"'sha256-{digest}'"]
