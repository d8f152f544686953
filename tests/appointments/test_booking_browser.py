"""A member finds a therapist, saves a card, accepts the policy and leaves for Calendly with
her tracking value, in headless Chromium (calendly.com and js.stripe.com never reached)."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

from tests.browser import DESKTOP_CHROME, PageProblems, axe_findings, browser_test, launch, session_cookie_for


@browser_test
def test_find_a_therapist_save_a_card_accept_the_policy_and_leave_for_calendly(
    live_server, transactional_db, settings, monkeypatch
):
    from django.db import connection
    from playwright.sync_api import expect, sync_playwright

    from accounts.models import ConsentKind, ConsentRecord, UserProfile
    from appointments.models import BookingPolicyAcceptance, GoodFaithEstimate
    from appointments.tracking import booking_link_for_tracking
    from billing import services as billing_services
    from billing.models import BillingCustomer
    from tests.appointments.support_booking import bookable_therapist, with_card
    from tests.billing.stripe_fakes import FakeStripeServer
    from tests.factories.accounts import UserFactory
    from tests.factories.appointments import TherapistProfileFactory

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.BILLING_DJSTRIPE_MIRROR = False
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    therapist = bookable_therapist()
    TherapistProfileFactory(display_name="Priya Full", is_accepting_clients=False)
    member = UserFactory(first_name="Maya", last_name="Member")
    UserProfile.objects.filter(user=member).update(timezone="America/New_York")
    left_for = []

    with FakeStripeServer() as stripe, sync_playwright() as playwright:
        settings.STRIPE_API_BASE = stripe.url
        browser = launch(playwright)
        context = browser.new_context(user_agent=DESKTOP_CHROME)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        problems = PageProblems(context, live_server.url)
        # Nothing leaves the machine: Stripe.js is not loaded, and Calendly answers with a stand-in.
        context.route("https://js.stripe.com/**", lambda route: route.abort())

        def calendly(route):
            left_for.append(route.request.url)
            route.fulfill(
                status=200, content_type="text/html", body="<title>Calendly stand-in</title><h1>Pick a time</h1>"
            )

        context.route("https://calendly.com/**", calendly)
        page = context.new_page()

        # Find her: the directory, then her page with fees, policy and hours in Maya's zone.
        page.goto(f"{live_server.url}/appointments/therapists/")
        expect(page.get_by_text("Not taking new clients right now")).to_be_visible()
        page.get_by_role("link", name="Dr. Ada Hart, LMFT").click()
        expect(page.get_by_role("heading", name="Dr. Ada Hart, LMFT")).to_be_visible()
        expect(page.get_by_text("$175.00 USD for 50 minutes")).to_be_visible()
        expect(page.get_by_text("Free up to 48 hours before it starts.")).to_be_visible()
        expect(page.get_by_text("Tuesday: 12:00 PM to 4:00 PM")).to_be_visible()
        page.get_by_role("link", name="Book a session with Dr. Ada Hart").click()

        # Step 1: a card. Stripe.js would confirm the SetupIntent and Stripe's webhook would save it.
        expect(page.get_by_role("heading", name="Save a card", exact=True)).to_be_visible()
        page.get_by_role("link", name="Save a card").click()
        expect(page.get_by_text("The card form could not load.")).to_be_visible()
        return_url = page.locator("#card-form").get_attribute("data-return-url")
        assert return_url == f"{live_server.url}/appointments/therapists/{therapist.pk}/book/"
        assert len(stripe.creates("/v1/setup_intents")) == 1
        customer = BillingCustomer.objects.get(user=member)
        billing_services.card_save(
            member=member, stripe_payment_method_id="pm_browser_4242", brand="visa", last4="4242"
        )
        assert customer.stripe_customer_id
        page.goto(f"{return_url}?setup_intent=seti_browser&redirect_status=succeeded")

        # Step 2: the policy, with her window and fees; the box must be ticked.
        expect(page.get_by_role("heading", name="Cancellation and missed-session policy")).to_be_visible()
        expect(page.get_by_text("You can cancel or move a session free of charge up to 48 hours")).to_be_visible()
        page.get_by_role("button", name="Accept and continue").click()
        expect(page.get_by_text("Please tick the box")).to_be_visible()
        assert not BookingPolicyAcceptance.objects.exists()
        page.get_by_label("I have read the cancellation and no-show policy above and I accept it.").check()
        page.get_by_role("button", name="Accept and continue").click()

        # Step 3: her estimate, then Calendly, pre-filled and tracked.
        expect(page.get_by_text("Your estimate is ready")).to_be_visible()
        estimate = GoodFaithEstimate.objects.get(user=member)
        expect(page.get_by_role("link", name="Good Faith Estimate (PDF)")).to_have_attribute(
            "href", f"/appointments/estimates/{estimate.pk}.pdf"
        )
        pdf = page.request.get(f"{live_server.url}/appointments/estimates/{estimate.pk}.pdf")
        assert pdf.ok and pdf.body().startswith(b"%PDF")
        assert problems.take() == []
        page.get_by_role("link", name="Choose a time with Dr. Ada Hart").click()
        expect(page.get_by_role("heading", name="Pick a time")).to_be_visible()

        # axe-core finds nothing serious on the pages of the journey, at each step of the gate
        # (a member without a card, one with a card only, and Maya now); its script needs the CSP off.
        with_card_only = UserFactory()
        with_card(with_card_only)
        book_path = f"/appointments/therapists/{therapist.pk}/book/"
        findings = {}
        for who, paths in (
            (member, ["/appointments/therapists/", f"/appointments/therapists/{therapist.pk}/", book_path]),
            (UserFactory(), [book_path]),
            (with_card_only, [book_path]),
        ):
            audit = browser.new_context(user_agent=DESKTOP_CHROME, bypass_csp=True)
            audit.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(who), "url": live_server.url}]
            )
            audit_page = audit.new_page()
            for path in paths:
                audit_page.goto(f"{live_server.url}{path}")
                findings[(who.email, path)] = axe_findings(audit_page)
            audit.close()
        assert all(found == [] for found in findings.values()), findings
        browser.close()

    [target] = left_for
    parts = urlsplit(target)
    assert (parts.netloc, parts.path) == ("calendly.com", "/ada-hart/session")
    params = parse_qs(parts.query)
    assert params["name"] == ["Maya Member"] and params["email"] == [member.email]
    link = booking_link_for_tracking(params["utm_content"][0])
    assert (link.user, link.therapist) == (member, therapist)
    consent = ConsentRecord.objects.get(user=member, kind=ConsentKind.BOOKING_POLICY)
    assert consent.text_version == "2026-12" and consent.user_agent == DESKTOP_CHROME
    assert consent.ip_address == "127.0.0.1"
