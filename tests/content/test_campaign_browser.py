"""The owner's campaign journey in headless Chromium: merge tag, preview, schedule, beat sends, report."""

import datetime
import zoneinfo

from django.urls import reverse
from django.utils import timezone

from content import services
from content.models import CampaignStatus, NewsletterCampaign
from notifications import tokens
from notifications.drain import email_queue_drain
from notifications.models import EmailQueue
from tests.browser import DESKTOP_CHROME, PageProblems, browser_test, launch, session_cookie_for
from tests.factories.content import SubscriberFactory


@browser_test
def test_owner_previews_schedules_and_reads_the_report(live_server, transactional_db, settings, monkeypatch):
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the journey reads the database between pages
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    settings.BLOOM_PRACTICE_TIME_ZONE = "America/Los_Angeles"
    # Tasks the beat starts run here and now instead of on a worker (the beat task itself is called below).
    monkeypatch.setattr("bloom.tasks.send", lambda task, *args: task(*args))
    owner = get_user_model().objects.create_superuser("owner@example.com", "a-Long-test-passphrase-2026")
    SubscriberFactory(email="maya@example.org", first_name="Maya")
    SubscriberFactory(email="sam@example.org", first_name="")
    practice = zoneinfo.ZoneInfo("America/Los_Angeles")
    send_at = timezone.localtime(timezone.now() + datetime.timedelta(minutes=2), practice)

    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(user_agent=DESKTOP_CHROME)
        problems = PageProblems(context, live_server.url)
        context.add_cookies([{"name": "sessionid", "value": session_cookie_for(owner), "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:content_newslettercampaign_add"))
        page.fill("#id_subject", 'A note for {{ first_name|default:"you" }}')
        page.fill(
            "#id_body_html",
            '<h1>Hello {{ first_name|default:"there" }}</h1><p><a href="https://example.org/sleep">Sleep tips</a></p>',
        )
        page.get_by_role("button", name="Save and continue editing").click()
        expect(page.locator(".messagelist")).to_contain_text("was added successfully")

        # Preview for a chosen confirmed subscriber, exactly as she will receive it.
        page.fill("#campaign-preview-email", "maya")
        page.get_by_role("button", name="Preview", exact=True).click()
        expect(page.locator("#campaign-preview-subject")).to_have_text("A note for Maya")
        expect(page.frame_locator("iframe[title^='Email preview']").locator("h1")).to_have_text("Hello Maya")
        page.fill("#campaign-preview-email", "sam")
        page.get_by_role("button", name="Preview", exact=True).click()
        expect(page.frame_locator("iframe[title^='Email preview']").locator("h1")).to_have_text("Hello there")

        # Schedule it two minutes ahead, in the practice's time zone.
        page.fill("#id_scheduled_at_0", send_at.strftime("%Y-%m-%d"))
        page.fill("#id_scheduled_at_1", send_at.strftime("%H:%M:%S"))
        page.get_by_role("button", name="Save and continue editing").click()
        expect(page.locator("#campaign-send-heading")).to_have_text("Scheduled")
        expect(page.locator("#content")).to_contain_text("practice time (America/Los_Angeles)")

        campaign = NewsletterCampaign.objects.get()
        assert campaign.status == CampaignStatus.SCHEDULED
        assert abs(campaign.scheduled_at - send_at) < datetime.timedelta(seconds=1)
        # Beat, every minute: nothing before its time, then the send at its time.
        assert services.campaign_send_due(now=campaign.scheduled_at - datetime.timedelta(seconds=30)) == 0
        assert services.campaign_send_due(now=campaign.scheduled_at) == 1
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SENT and campaign.recipients_count == 2
        email_queue_drain()
        maya = EmailQueue.objects.get(to_email="maya@example.org")
        assert maya.subject == "A note for Maya" and "{{" not in maya.html_body + maya.text_body
        # Maya opens it and clicks the link.
        # (Fetched as her mail client would: an image, not a page.)
        pixel = context.request.get(
            live_server.url + reverse("notifications:track_open", args=[tokens.open_token(maya.id)])
        )
        assert pixel.ok
        click = context.request.get(
            live_server.url + reverse("notifications:track_click", args=[tokens.click_token(maya.id, 0)]),
            max_redirects=0,
        )
        assert click.status == 302 and click.headers["location"] == "https://example.org/sleep"

        page.goto(live_server.url + reverse("admin:content_newslettercampaign_change", args=[campaign.pk]))
        report = page.locator(".campaign-report")
        expect(report.locator("tbody td").nth(0)).to_have_text("2")
        expect(report.locator("tbody td").nth(1)).to_contain_text("1 (50")
        expect(report.locator("tbody td").nth(2)).to_contain_text("1 (50")
        expect(report.locator("svg[role=img] rect")).to_have_count(3)
        assert problems.take() == []
        browser.close()
