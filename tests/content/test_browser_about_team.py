"""The home, about and team pages in a real browser, on a phone (390x844) and a desktop
(1280x800), logged out and in: axe-core finds nothing serious or critical, the CSP is never
broken and every image and stylesheet loads (the team's drawn avatars included)."""

import os

import pytest
from django.conf import settings

from tests.browser import BROWSER, DESKTOP_CHROME, PageProblems, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory
from tests.factories.appointments import TherapistProfileFactory

pytestmark = BROWSER

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _team():
    TherapistProfileFactory(display_name="Jana Open", photo_url="/static/img/team/jana-rundle.svg")
    TherapistProfileFactory(display_name="Sam Open", photo_url="/static/img/team/sam-okafor.svg", scheduling_url="")
    TherapistProfileFactory(
        display_name="Priya Full", photo_url="/static/img/team/priya-raman.svg", is_accepting_clients=False
    )
    TherapistProfileFactory(display_name="No Photo", photo_url="")


@pytest.mark.parametrize("size", sorted(SIZES))
def test_home_about_and_team_pass_axe_and_the_csp_logged_out(live_server, transactional_db, size):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    _team()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # The CSP as served: no violation, no missing file.
        strict = browser.new_context(viewport=SIZES[size], user_agent=DESKTOP_CHROME)
        problems = PageProblems(strict, live_server.url)
        page = strict.new_page()
        for path in ("/", "/about/", "/team/"):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
        photos = page.locator("img.team-photo")
        expect(photos).to_have_count(4)
        assert all(photos.nth(i).evaluate("img => img.naturalWidth") > 0 for i in range(4))
        assert problems.take() == []
        # axe-core needs its own script injected, hence a context that bypasses the CSP.
        context = browser.new_context(viewport=SIZES[size], user_agent=DESKTOP_CHROME, bypass_csp=True)
        page = context.new_page()
        findings = {}
        for path in ("/", "/about/", "/team/"):
            page.goto(f"{live_server.url}{path}")
            findings[path] = axe_findings(page)
        assert findings == {"/": [], "/about/": [], "/team/": []}
        browser.close()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_about_and_team_pass_axe_for_a_member(live_server, transactional_db, size):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    _team()
    member = UserFactory()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport=SIZES[size], user_agent=DESKTOP_CHROME, bypass_csp=True)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        page = context.new_page()
        findings = {}
        for path in ("/about/", "/team/"):
            page.goto(f"{live_server.url}{path}")
            findings[path] = axe_findings(page)
        assert "/appointments/therapists/" in page.content() and "calendly.com" not in page.content()
        assert findings == {"/about/": [], "/team/": []}
        browser.close()
