"""The template admin's live preview, driven in headless Chromium."""

from django.conf import settings
from django.urls import reverse

from notifications.models import EmailTemplate
from tests.browser import DESKTOP_CHROME, browser_test, launch
from tests.factories.accounts import StaffUserFactory


@browser_test
def test_template_live_preview_follows_typing_and_flags_mistakes(live_server, transactional_db, client):
    from playwright.sync_api import expect, sync_playwright

    staff = StaffUserFactory(is_superuser=True)
    client.force_login(staff)
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": 0}, {"method": "mfa", "at": 0}]
    session.save()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(user_agent=DESKTOP_CHROME)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:notifications_emailtemplate_add"))

        page.fill("#id_key", "notifications/notice")
        page.fill("#id_subject", "Hello {{ title }}")
        page.fill("#id_text_template", "{{ message }}")
        page.fill("#id_html_template", "<p>Preview of {{ title }}</p>")
        expect(page.locator("#live-preview-subject")).to_have_text("Hello [title]")
        expect(page.frame_locator("#live-preview-html").locator("p")).to_have_text("Preview of [title]")
        expect(page.locator("#live-preview-errors")).to_be_hidden()

        page.fill("#id_text_template", "{{ diagnosis }}")
        expect(page.locator("#live-preview-errors")).to_contain_text("diagnosis")
        page.fill("#id_subject", "{% if title %}")
        expect(page.locator("#live-preview-errors")).to_contain_text("syntax error")

        # Saving is refused, and what was typed is kept.
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".errornote")).to_be_visible()
        expect(page.locator("#id_subject")).to_have_value("{% if title %}")
        browser.close()
    assert not EmailTemplate.all_objects.exists()
