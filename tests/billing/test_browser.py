"""The billing page in headless Chromium: totals, a refund request, a printable receipt, cards."""

from __future__ import annotations

import os

from tests.browser import browser_test, launch


@browser_test
def test_member_reads_billing_asks_for_a_refund_prints_a_receipt_and_removes_a_card(
    live_server, transactional_db, settings, monkeypatch, tmp_path
):
    from decimal import Decimal

    from django.db import connection
    from django.test import Client
    from playwright.sync_api import expect, sync_playwright

    from billing.models import RefundRequest, RefundStatus, UserPaymentMethod
    from tests.billing.stripe_fakes import FakeStripeServer
    from tests.factories.accounts import UserFactory
    from tests.factories.billing import BillingCustomerFactory, PaymentIntentFactory, UserPaymentMethodFactory

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.BILLING_DJSTRIPE_MIRROR = False
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    member = UserFactory(first_name="Maya", last_name="Example")
    BillingCustomerFactory(user=member)
    PaymentIntentFactory(user=member, paid=True, amount=Decimal("120.00"), description="Calm Mama course")
    PaymentIntentFactory(user=member, paid=True, amount=Decimal("80.00"), description="Sleep workshop")
    UserPaymentMethodFactory(user=member, last4="4242", is_default=True)
    spare = UserPaymentMethodFactory(user=member, last4="1881", brand="mastercard", is_default=False)
    client = Client()
    client.force_login(member)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    with FakeStripeServer() as stripe, sync_playwright() as playwright:
        settings.STRIPE_API_BASE = stripe.url
        browser = launch(playwright)
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(20000)

        page.goto(f"{live_server.url}/billing/")
        summary = page.locator("section", has=page.get_by_role("heading", name="Summary"))
        expect(summary).to_contain_text("200.00")
        expect(page.get_by_text("No open refund requests.")).to_be_visible()

        # Ask for part of the workshop back; a too-large amount keeps what was typed.
        page.get_by_role("row", name="Sleep workshop").get_by_role("link", name="Ask for a refund").click()
        page.get_by_label("Amount to refund").fill("500")
        page.get_by_label("Why are you asking for a refund?").fill("Baby arrived early; I missed two sessions.")
        page.get_by_role("button", name="Send request").click()
        expect(page.get_by_role("alert").first).to_be_visible()
        expect(page.get_by_label("Why are you asking for a refund?")).to_have_value(
            "Baby arrived early; I missed two sessions."
        )
        page.get_by_label("Amount to refund").fill("40.00")
        page.get_by_role("button", name="Send request").click()
        expect(page.get_by_text("Our team will review your refund request")).to_be_visible()
        open_refunds = page.locator("section", has=page.get_by_role("heading", name="Open refund requests"))
        expect(open_refunds).to_contain_text("Sleep workshop")
        expect(open_refunds).to_contain_text("40.00 USD")
        assert RefundRequest.objects.get().status == RefundStatus.REQUESTED

        # The printable receipt.
        page.get_by_role("row", name="Calm Mama course").get_by_role("link", name="Receipt").click()
        expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
        expect(page.get_by_text("Maya Example")).to_be_visible()
        expect(page.get_by_role("button", name="Print this receipt")).to_be_visible()
        # On paper only the receipt shows: no navigation, footer or buttons.
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        expect(page.get_by_role("button", name="Print this receipt")).to_be_hidden()
        expect(page.get_by_text("120.00 USD")).to_be_visible()
        page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
        page.emulate_media(media="screen")

        # Remove the spare card.
        page.goto(f"{live_server.url}/billing/")
        expect(page.get_by_text("Mastercard ending 1881")).to_be_visible()
        page.get_by_role("button", name="Remove card ending 1881").click()
        expect(page.get_by_text("Removed")).to_be_visible()
        expect(page.get_by_text("Mastercard ending 1881")).to_have_count(0)
        browser.close()

    assert not UserPaymentMethod.active.filter(pk=spare.pk).exists()
    assert [c.path for c in stripe.calls] == [f"/v1/payment_methods/{spare.stripe_payment_method_id}/detach"]
