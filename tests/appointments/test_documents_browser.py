"""The documents page in a real browser: axe-core finds nothing serious, she downloads a session
receipt, gets a superbill range wrong (told plainly, her dates kept), then downloads it."""

import datetime
import os
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from tests.appointments.support_documents import past_session, pay, pdf_text
from tests.browser import BROWSER, axe_findings, launch, session_cookie_for
from tests.factories.accounts import UserFactory
from tests.factories.appointments import TherapistProfileFactory

pytestmark = BROWSER


def test_she_downloads_a_receipt_and_a_superbill(live_server, transactional_db):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member = UserFactory(first_name="Maya", last_name="Member")
    therapist = TherapistProfileFactory(display_name="Dr. Ada Hart", npi="1234567893", session_fee=Decimal("180"))
    appointment = past_session(member=member, therapist=therapist, days_ago=12)
    pay(appointment=appointment, amount="180.00")
    past_session(member=member, therapist=therapist, days_ago=5, service_code="", diagnosis_codes=[])
    today = timezone.localdate()

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(bypass_csp=True, accept_downloads=True)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/appointments/documents/")
        main = page.get_by_role("main")
        expect(main.get_by_role("heading", name="Receipts and superbills", level=1)).to_be_visible()
        assert axe_findings(page) == []

        with page.expect_download() as download_info:
            main.get_by_role("link", name="Download receipt").click()
        download = download_info.value
        assert download.suggested_filename.startswith("bloom-receipt-")
        with open(download.path(), "rb") as pdf:
            text = pdf_text(pdf.read())
        assert "Billed to: Maya Member" in text and "$180.00 USD" in text and "NPI: 1234567893" in text

        # The last day before the first: the page says so and keeps both dates.
        start = today - datetime.timedelta(days=30)
        main.get_by_label("From").fill(today.isoformat())
        main.get_by_label("To").fill(start.isoformat())
        main.get_by_role("button", name="Download superbill (PDF)").click()
        expect(main.get_by_text("The last day is before the first day.")).to_be_visible()
        expect(main.get_by_label("From")).to_have_value(today.isoformat())
        expect(main.get_by_label("To")).to_have_value(start.isoformat())
        assert axe_findings(page) == []

        main.get_by_label("From").fill(start.isoformat())
        main.get_by_label("To").fill(today.isoformat())
        with page.expect_download() as download_info:
            main.get_by_role("button", name="Download superbill (PDF)").click()
        download = download_info.value
        assert download.suggested_filename.startswith("bloom-superbill-")
        with open(download.path(), "rb") as pdf:
            text = pdf_text(pdf.read())
        assert "Name: Maya Member" in text and "F53.0" in text
        assert "No codes entered for this session yet: ask your therapist to add them." in text
        browser.close()
