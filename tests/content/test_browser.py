from content.models import AnalyticsEvent
from tests.browser import DESKTOP_CHROME, browser_test, launch
from tests.factories.content import BlogPostFactory
from tests.waiting import wait_until


@browser_test
def test_reading_a_post_records_one_page_view_in_a_journey(live_server, transactional_db):
    from playwright.sync_api import sync_playwright

    first = BlogPostFactory(published=True, title="Sleep, mood and the fourth trimester")
    second = BlogPostFactory(published=True, title="Asking for help")
    with sync_playwright() as p:
        browser = launch(p)
        # Headless Chromium says "HeadlessChrome", which the site treats as a bot.
        page = browser.new_page(user_agent=DESKTOP_CHROME)
        page.goto(f"{live_server.url}/blog/")
        page.get_by_role("link", name=first.title).click()
        page.wait_for_load_state("networkidle")
        page.goto(f"{live_server.url}/blog/{second.slug}/")
        page.wait_for_load_state("networkidle")
        browser.close()
    wait_until(
        lambda: AnalyticsEvent.objects.count() >= 2,
        timeout=10,
        interval=0.1,
        what=lambda: f"two page views (have {AnalyticsEvent.objects.count()})",
    )
    events = list(AnalyticsEvent.objects.order_by("created_at"))
    assert [e.blog_post_id for e in events] == [first.pk, second.pk]
    assert events[0].session_id and events[0].session_id == events[1].session_id
    assert events[0].category == "page_view" and events[0].path == f"/blog/{first.slug}/"
    first.refresh_from_db()
    assert first.view_count == 1
