"""Calendars in a real browser, at phone and desktop sizes: she downloads a workshop's .ics (it
parses with icalendar, in her zone), gets her feed link (copied with the button, under the CSP),
subscribes, sees a cancelled session disappear, rotates the link (the old one is dead); axe-core
finds nothing serious or critical on the pages, with and without a flash message."""

import datetime
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.conf import settings

from appointments.models import AppointmentStatus
from tests.browser import BROWSER, PageProblems, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory

pytestmark = BROWSER

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _member():
    member = UserFactory()
    member.profile.timezone = "America/New_York"
    member.profile.save()
    return member


def _context(browser, live_server, member, viewport, **options):
    context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
    )
    return context


def _feed_uids(context, live_server, path):
    response = context.request.get(live_server.url + path)
    assert response.status == 200, response.status
    return {str(event["uid"]) for event in icalendar.Calendar.from_ical(response.body()).walk("VEVENT")}


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_calendar_journey(live_server, transactional_db, size):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member = _member()
    starts = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=9)).replace(
        hour=23, minute=0, second=0, microsecond=0
    )
    seat = WorkshopRegistrationFactory(
        user=member, workshop=WorkshopFactory(starts_at=starts, ends_at=starts + datetime.timedelta(hours=1))
    )
    session = AppointmentDataFactory(user=member)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = _context(browser, live_server, member, VIEWPORTS[size], bypass_csp=True)
        page = context.new_page()

        page.goto(f"{live_server.url}/workshops/{seat.workshop.slug}/")
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Add to calendar").click()
        ics = icalendar.Calendar.from_ical(Path(download_info.value.path()).read_bytes())
        (event,) = ics.walk("VEVENT")
        assert event["dtstart"].params["TZID"] == "America/New_York"
        assert event.decoded("dtstart") == seat.workshop.starts_at
        assert event.decoded("dtstart").utcoffset() == starts.astimezone(ZoneInfo("America/New_York")).utcoffset()
        assert str(event["location"]) == seat.workshop.zoom_join_url
        assert axe_findings(page) == []

        page.goto(f"{live_server.url}/account/security/")
        assert axe_findings(page) == []
        page.get_by_role("button", name="Get my calendar link").click()
        expect(page.locator(".messages")).to_contain_text("Your calendar link is ready")
        field = page.get_by_label("Your private calendar link")
        feed_path = "/calendar/feed/" + field.input_value().split("/calendar/feed/")[1]
        assert (
            page.get_by_role("link", name="Add it to this device's calendar")
            .get_attribute("href")
            .startswith("webcal://")
        )
        assert axe_findings(page) == []  # with the flash message and the link

        uids = _feed_uids(context, live_server, feed_path)
        assert f"appointment-{session.pk}@bloom.calendar" in uids and len(uids) == 2
        session.status = AppointmentStatus.CANCELLED
        session.save()
        assert _feed_uids(context, live_server, feed_path) == uids - {f"appointment-{session.pk}@bloom.calendar"}

        page.goto(f"{live_server.url}/account/security/")
        page.get_by_role("link", name="Make a new link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Make a new calendar link?")
        assert axe_findings(page) == []
        page.get_by_role("button", name="Yes, make a new link").click()
        expect(page.locator(".messages")).to_contain_text("The old one no longer works")
        assert context.request.get(live_server.url + feed_path).status == 404
        new_path = (
            "/calendar/feed/"
            + page.get_by_label("Your private calendar link").input_value().split("/calendar/feed/")[1]
        )
        assert _feed_uids(context, live_server, new_path) == uids - {f"appointment-{session.pk}@bloom.calendar"}

        page.get_by_role("link", name="Turn off").click()
        assert axe_findings(page) == []
        page.get_by_role("button", name="Yes, turn it off").click()
        expect(page.get_by_role("button", name="Get my calendar link")).to_be_visible()
        assert context.request.get(live_server.url + new_path).status == 404
        browser.close()


def test_copy_link_works_under_the_csp(live_server, transactional_db):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member = _member()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = _context(browser, live_server, member, VIEWPORTS["phone"])
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        problems = PageProblems(context, live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/account/security/")
        page.get_by_role("button", name="Get my calendar link").click()
        field = page.get_by_label("Your private calendar link")
        button = page.get_by_role("button", name="Copy link")
        expect(button).to_be_visible()  # shown by static/js/copy-link.js, so the script ran
        button.click()
        expect(page.locator("[data-copy-target]")).to_have_text("Copied")
        assert page.evaluate("() => navigator.clipboard.readText()") == field.input_value()
        page.get_by_role("link", name="Make a new link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Make a new calendar link?")
        assert problems.take() == []
        browser.close()
