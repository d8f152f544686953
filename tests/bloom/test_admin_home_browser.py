"""The owner's admin home in a real browser: a risk alert, a pending refund, a data request due in 3
days and a failed email, each card's link opening the list filtered to that row; no CSP problem."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.admin_home import a_month_before
from notifications.models import EmailStatus
from tests.appointments.support_workspace import staff_login
from tests.browser import BROWSER, axe_findings, launch, signed_in_page
from tests.factories.accounts import DataRequestFactory, RiskAlertFactory, UserFactory
from tests.factories.billing import RefundRequestFactory
from tests.factories.notifications import EmailQueueFactory

pytestmark = BROWSER


@pytest.fixture
def owner(transactional_db, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests
    user = staff_login("owner").user
    RiskAlertFactory(user=UserFactory(email="alert.member@example.com"))
    RefundRequestFactory(payment__user=UserFactory(email="refund.member@example.com"))
    DataRequestFactory(
        user=UserFactory(email="export.member@example.com"),
        requested_at=a_month_before(timezone.now() + timedelta(days=3)),
    )
    DataRequestFactory(user=UserFactory(email="early.member@example.com"))  # due in a month: not on the card
    EmailQueueFactory(to_email="bounced.member@example.com", status=EmailStatus.FAILED, subject="Your receipt")
    EmailQueueFactory(to_email="sent.member@example.com", status=EmailStatus.SENT, subject="Welcome")
    return user


def test_the_owner_opens_each_card_of_her_home_to_its_filtered_list(live_server, owner):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        _, page, problems = signed_in_page(browser, live_server.url, owner)
        journeys = [
            ("1 waiting for a clinician", "alert.member@example.com"),
            ("1 waiting for a decision", "refund.member@example.com"),
            ("1 due within 7 days", "export.member@example.com"),
            ("1 failed", "bounced.member@example.com"),
        ]
        for link, member in journeys:
            page.goto(f"{live_server.url}/admin/")
            expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
            page.get_by_role("link", name=link, exact=True).click()
            rows = page.locator("#result_list tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(member)
        page.goto(f"{live_server.url}/admin/")
        expect(page.get_by_role("link", name="Risk alerts (needs attention)").first).to_be_visible()
        assert problems.take() == []
        browser.close()


def test_the_admin_home_has_no_serious_accessibility_finding(live_server, owner):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        _, page, _ = signed_in_page(browser, live_server.url, owner, bypass_csp=True)  # axe is injected
        page.goto(f"{live_server.url}/admin/")
        expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
        assert axe_findings(page) == []
        browser.close()
