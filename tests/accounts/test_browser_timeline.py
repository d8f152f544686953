"""The screening timeline in a real browser: axe-core finds nothing serious or critical with 0, 1
and 200 results (the SVG charts, their tables and the empty state)."""

import os

import pytest
from django.conf import settings

from tests.accounts.test_views_screening import _results
from tests.browser import BROWSER, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory

pytestmark = BROWSER


@pytest.mark.parametrize("count", [0, 1, 200])
def test_the_timeline_passes_axe_with_no_serious_finding(live_server, transactional_db, count):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member = UserFactory()
    member.profile.stage = "postpartum"
    member.profile.save()
    _results(member, count)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(bypass_csp=True)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/screening/timeline/")
        expect(page.locator("svg[role=img]")).to_have_count({0: 0, 1: 1, 200: 3}[count])
        assert axe_findings(page) == []
        browser.close()
