"""Messages in a real browser at 390x844: a visitor writes out of hours and sees the auto-reply and
the crisis resources at once; a member reads the staff reply in her thread. axe-core finds nothing
serious or critical on any of the pages."""

import os

import pytest

from content import services
from tests.browser import BROWSER, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory

pytestmark = BROWSER

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NEVER_OPEN = {"days": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "00:00", "zone": "UTC"}


@pytest.fixture
def closed_hours(settings):
    settings.BLOOM_CHAT_HOURS = NEVER_OPEN


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_visitor_writes_out_of_hours_and_sees_help_at_once(live_server, transactional_db, closed_hours, viewport):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(bypass_csp=True, viewport=viewport).new_page()
        page.goto(f"{live_server.url}/messages/")
        assert axe_findings(page) == []
        page.locator("#id_visitor_email").fill("ana@example.org")
        page.get_by_label("Your message").fill("Is there an evening group for new dads?")
        page.get_by_role("button", name="Send message").click()
        expect(page.locator("#crisis-heading")).to_be_visible()
        expect(page.get_by_text("Our care team is away right now", exact=False)).to_be_visible()
        expect(page.get_by_text("Is there an evening group for new dads?")).to_be_visible()
        expect(page.get_by_text("Automatic reply from Bloom")).to_be_visible()
        assert "/messages/v/" in page.url
        assert axe_findings(page) == []
        browser.close()


def test_a_member_reads_the_staff_reply_in_her_thread(live_server, transactional_db, settings):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    settings.BLOOM_CHAT_HOURS = {"days": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "23:59", "zone": "UTC"}
    member = UserFactory()
    conversation = services.chat_conversation_start(body="Can I bring my baby?", user=member)["conversation"]
    services.chat_staff_reply(
        conversation=conversation, body="Yes, babies are always welcome.", staff_user=UserFactory(is_staff=True)
    )
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(bypass_csp=True, viewport=PHONE)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/messages/")
        assert axe_findings(page) == []
        page.get_by_role("link", name="Conversation started", exact=False).click()
        expect(page.get_by_text("Yes, babies are always welcome.")).to_be_visible()
        assert axe_findings(page) == []
        # A new reply appears without a reload (the page polls every 15 s).
        services.chat_staff_reply(
            conversation=conversation, body="See you Tuesday.", staff_user=UserFactory(is_staff=True)
        )
        expect(page.get_by_text("See you Tuesday.")).to_be_visible(timeout=25_000)
        browser.close()
