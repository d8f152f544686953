"""A member finds a workshop, registers, and cancels, in headless Chromium."""

import os

import pytest
from django.conf import settings
from django.test import Client

from tests.browser import browser_test, launch
from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory
from workshops.models import RegistrationStatus, WorkshopRegistration


@browser_test
@pytest.mark.django_db(transaction=True)
def test_member_registers_and_cancels_in_the_browser(live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    member = UserFactory()
    workshop = WorkshopFactory(title="Gentle evenings", capacity=4)
    client = Client()
    client.force_login(member)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/workshops/")
        page.get_by_role("link", name="Gentle evenings").click()
        sync_api.expect(page.get_by_text("4 seats left.")).to_be_visible()
        page.get_by_role("button", name="Register").click()
        sync_api.expect(page.get_by_text("You're registered. See you there!")).to_be_visible()
        sync_api.expect(page.get_by_role("link", name="Join on Zoom")).to_have_attribute("href", workshop.zoom_join_url)
        page.get_by_role("button", name="Cancel my registration").click()
        sync_api.expect(page.get_by_text("Your registration is cancelled.")).to_be_visible()
        sync_api.expect(page.get_by_role("button", name="Register")).to_be_visible()
        browser.close()

    assert WorkshopRegistration.objects.get(user=member).status == RegistrationStatus.CANCELLED
