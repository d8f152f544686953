"""axe-core over the consent pages (the full walk in tests/bloom/test_browser_axe.py covers the
pinned ones too): the texts, her consents, a withdrawal, the agreement page and the session
page's telehealth form, at phone and desktop widths."""

from __future__ import annotations

from django.urls import reverse

from tests.browser import BROWSER, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory

pytestmark = BROWSER


def test_consent_pages_have_no_serious_or_critical_axe_finding(live_server, transactional_db):
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    member = UserFactory()
    appointment = AppointmentDataFactory(user=member)
    asked = UserFactory(policies_agreed=False)
    pages = {
        member: [
            reverse("accounts:privacy"),
            reverse("accounts:terms"),
            reverse("accounts:consents"),
            reverse("accounts:consent_withdraw", args=["marketing"]),
            reverse("appointments:appointment_detail", args=[appointment.pk]),
        ],
        asked: [reverse("accounts:policies_agree")],
    }
    cookies = {who: session_cookie_for(who) for who in pages}
    found = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for width in (360, 1280):
            for who, paths in pages.items():
                context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 800})
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": cookies[who], "url": live_server.url}]
                )
                page = context.new_page()
                for path in paths:
                    response = page.goto(live_server.url + path)
                    assert response.status == 200, path
                    if findings := axe_findings(page):
                        found[f"{path} {width}px"] = findings
                context.close()
        browser.close()
    assert found == {}
