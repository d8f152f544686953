"""The wellness page in a real browser: axe-core finds nothing serious or critical with 0, 1 and
200 check-ins (charts, tables, forms), and she back-fills yesterday, is told plainly when she
picks a day too long ago (her words kept), shares her check-ins and downloads her summary.

axe-core is the copy bundled in the axe-playwright-python wheel (requirements.txt); the axe
context bypasses the page's CSP so the script can be injected (the CSP journey has its own test).
"""

import datetime
import os

import pytest
from django.conf import settings

from accounts.models import ConsentRecord, WellnessEntry
from accounts.selectors import member_today
from tests.browser import BROWSER, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory

pytestmark = BROWSER


def _entries(member, count: int) -> None:
    today = member_today(profile=member.profile)
    WellnessEntry.objects.bulk_create(
        WellnessEntry(
            user=member,
            entry_date=today - datetime.timedelta(days=n),
            mood=n % 5 + 1,
            anxiety=(n + 2) % 5 + 1,
            energy=(n + 1) % 5 + 1,
            support=(n + 3) % 5 + 1,
            sleep_hours=5 + n % 4,
            notes="a note" if n % 3 == 0 else "",
        )
        for n in range(count)
    )


@pytest.mark.parametrize("count", [0, 1, 200])
def test_the_wellness_page_passes_axe_with_no_serious_finding(live_server, transactional_db, count):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member = UserFactory()
    _entries(member, count)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(bypass_csp=True)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/wellness/")
        expect(page.get_by_role("heading", name="Your weekly trends")).to_be_visible()
        charts = page.locator("svg.wellness-chart")
        expect(charts).to_have_count(0 if count == 0 else 2)
        if count:
            expect(
                page.get_by_role("img", name="Mood, anxiety, energy and support: weekly averages (1 to 5)")
            ).to_be_visible()
        assert axe_findings(page) == []
        browser.close()


def test_she_back_fills_yesterday_shares_and_downloads_her_summary(live_server, transactional_db):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member = UserFactory()
    today = member_today(profile=member.profile)
    yesterday = today - datetime.timedelta(days=1)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(accept_downloads=True)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/wellness/")
        main = page.locator("main")

        # A day too long ago: a plain message on the field, and her words are still there.
        main.get_by_label("Day", exact=True).fill((today - datetime.timedelta(days=10)).isoformat())
        main.get_by_role("group", name="Mood (1 very low, 5 very good)").get_by_label("2").check()
        main.get_by_label("Notes (optional, private)").fill("Slow morning, kind neighbour")
        main.get_by_role("button", name="Save check-in").click()
        expect(
            main.get_by_text("Check-ins can be added or changed for today and the 7 days before it.")
        ).to_be_visible()
        expect(main.get_by_label("Notes (optional, private)")).to_have_value("Slow morning, kind neighbour")

        # Yesterday instead, picked from the week's list.
        main.get_by_role("link", name=f"{yesterday:%a %-d %b}").click()
        expect(main.get_by_role("heading", name=f"Your check-in for {yesterday:%A %-d %B}")).to_be_visible()
        main.get_by_role("group", name="Mood (1 very low, 5 very good)").get_by_label("4").check()
        main.get_by_label("How supported you felt (1 alone, 5 well supported; optional)").select_option("5")
        main.get_by_role("button", name="Save check-in").click()
        expect(page.get_by_text(f"Your check-in for {yesterday:%A %-d %B} is saved.")).to_be_visible()
        entry = WellnessEntry.objects.get(user=member)
        assert (entry.entry_date, entry.mood, entry.support) == (yesterday, 4, 5)
        expect(page.locator("svg.wellness-chart")).to_have_count(1)  # no sleep given: the ratings chart only

        # Share, then stop.
        main.get_by_role("button", name="Share my check-ins with my clinician").click()
        expect(main.get_by_role("button", name="Stop sharing my check-ins")).to_be_visible()
        main.get_by_role("button", name="Stop sharing my check-ins").click()
        expect(main.get_by_role("button", name="Share my check-ins with my clinician")).to_be_visible()
        assert list(
            ConsentRecord.objects.filter(user=member, source="wellness_share")
            .order_by("created_at")
            .values_list("granted", flat=True)
        ) == [True, False]

        # The PDF summary downloads.
        with page.expect_download() as download_info:
            main.get_by_role("button", name="Download PDF summary").click()
        download = download_info.value
        assert download.suggested_filename.startswith("bloom-wellness-")
        with open(download.path(), "rb") as pdf:
            assert pdf.read(4) == b"%PDF"
        browser.close()
