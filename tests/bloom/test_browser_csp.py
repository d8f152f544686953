"""A strict Content-Security-Policy, walked in headless Chromium (docs/adr/0140).

A member and a visitor walk every kind of page Bloom serves (public pages, sign-up, log-in,
the dashboard, a course and a lesson's slide player, workshops, billing with a card added
through a stand-in for Stripe.js, notifications, wellness, screening) and staff open the admin
home, a change list and a change form with its live preview. Any CSP violation on any frame,
and any file of the site that is missing, fails the journey. Stripe.js is served by the
browser from a stand-in at https://js.stripe.com/v3/, so the policy's Stripe allowances
(script, frame, API connection) are exercised without leaving the machine.
"""

from __future__ import annotations

import os

from tests.browser import DESKTOP_CHROME, PageProblems, browser_test, launch

# Stand-in for https://js.stripe.com/v3/: the calls Bloom's static scripts make. The Payment
# Element is an iframe from js.stripe.com and confirming talks to api.stripe.com, like Stripe's.
FAKE_STRIPE_JS = """
window.Stripe = function (key) {
  return {
    elements: function (options) {
      return {
        create: function (kind) {
          return {
            mount: function (selector) {
              var frame = document.createElement("iframe");
              frame.src = "https://js.stripe.com/v3/elements-inner-payment.html";
              frame.title = "Secure payment input frame";
              document.querySelector(selector).appendChild(frame);
            }
          };
        }
      };
    },
    confirmSetup: function (args) {
      return fetch("https://api.stripe.com/v1/setup_intents/seti_fake/confirm", {method: "POST"})
        .then(function () { window.location = args.confirmParams.return_url; return {}; });
    }
  };
};
"""


def _fake_stripe(context) -> list[str]:
    """Route Stripe's hosts to stand-ins; returns the list of URLs the browser asked for."""
    asked: list[str] = []

    def js(route):
        asked.append(route.request.url)
        if route.request.url.rstrip("/").endswith("/v3"):
            route.fulfill(status=200, content_type="application/javascript", body=FAKE_STRIPE_JS)
        else:
            route.fulfill(status=200, content_type="text/html", body="<p>Card number</p>")

    def api(route):
        asked.append(route.request.url)
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"access-control-allow-origin": "*"},
            body='{"object": "setup_intent", "status": "succeeded"}',
        )

    context.route("https://js.stripe.com/**", js)
    context.route("https://api.stripe.com/**", api)
    return asked


def _session_cookie(settings, user, *, mfa: bool = False) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    if mfa:
        session = client.session
        session["account_authentication_methods"] = [{"method": "password", "at": 0}, {"method": "mfa", "at": 0}]
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@browser_test
def test_every_page_keeps_to_the_content_security_policy(live_server, transactional_db, settings, monkeypatch):
    from decimal import Decimal

    from django.db import connection
    from django.urls import reverse
    from playwright.sync_api import expect, sync_playwright

    from accounts.models import UserProfile
    from billing.models import PaymentStatus
    from tests.billing.stripe_fakes import FakeStripeServer
    from tests.courses.conftest import build_course, lessons_of
    from tests.factories.accounts import StaffUserFactory, UserFactory
    from tests.factories.billing import BillingCustomerFactory, PaymentIntentFactory
    from tests.factories.content import BlogPostFactory
    from tests.factories.courses import CourseEnrollmentFactory
    from tests.factories.workshops import WorkshopFactory

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.BILLING_DJSTRIPE_MIRROR = False
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)

    post = BlogPostFactory(published=True, title="Sleep when the baby sleeps?")
    course = build_course(lessons=2, modules=1, title="Postpartum mood: what's normal")
    lesson = lessons_of(course)[0]
    lesson.slides = ["<h2>Breathe in</h2>", "<h2>Breathe out</h2>"]
    lesson.save()
    workshop = WorkshopFactory(title="Coping with birth anxiety")
    member = UserFactory(first_name="Maya", last_name="Example", onboarded=False)
    CourseEnrollmentFactory(user=member, course=course)
    BillingCustomerFactory(user=member)
    paid = PaymentIntentFactory(user=member, paid=True, amount=Decimal("80.00"), description="Sleep workshop")
    waiting = PaymentIntentFactory(user=member, status=PaymentStatus.PROCESSING, description="Calm course")
    staff = StaffUserFactory(is_superuser=True)
    member_cookie = _session_cookie(settings, member)
    staff_cookie = _session_cookie(settings, staff, mfa=True)
    base = live_server.url

    with FakeStripeServer() as stripe, sync_playwright() as playwright:
        settings.STRIPE_API_BASE = stripe.url
        browser = launch(playwright)

        def visit(page, problems, path, *, heading=None):
            response = page.goto(base + path)
            assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
            policy = response.headers.get("content-security-policy", "")
            directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())
            assert directives.get("script-src", "").startswith("'self'"), policy
            assert "'unsafe-inline'" not in directives["script-src"] and "unsafe-eval" not in policy, policy
            if not path.startswith("/admin/"):
                assert "unsafe-inline" not in policy, policy
            if heading:
                expect(page.get_by_role("heading", name=heading).first).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert problems.take() == [], path

        # --- A visitor: public pages, sign-up, log-in. The listener itself is checked first:
        # an inline script added to the page must be refused and reported.
        visitor = browser.new_context(user_agent=DESKTOP_CHROME)
        seen = PageProblems(visitor, base)
        page = visitor.new_page()
        visit(page, seen, "/")
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1'; document.body.appendChild(s); }"
        )
        page.wait_for_timeout(200)
        caught = seen.take()
        assert any("script-src" in line for line in caught), caught
        assert page.evaluate("() => window.x") is None
        visit(page, seen, reverse("content:blog_list"))
        visit(page, seen, reverse("content:blog_detail", args=[post.slug]), heading="Sleep when the baby sleeps?")
        visit(page, seen, reverse("content:newsletter_signup"))
        visit(page, seen, reverse("content:contact"), heading="Contact us")
        visit(page, seen, reverse("courses:course_list"), heading="Courses")
        visit(page, seen, reverse("account_signup"))
        visit(page, seen, reverse("account_login"))
        visitor.close()

        # --- A member: every member page, the slide player, billing with Stripe.js ------------
        context = browser.new_context(user_agent=DESKTOP_CHROME)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": member_cookie, "url": base}])
        stripe_asked = _fake_stripe(context)
        seen = PageProblems(context, base)
        page = context.new_page()
        page.set_default_timeout(20000)

        visit(page, seen, reverse("accounts:onboarding"), heading="Welcome to Bloom")
        UserProfile.objects.filter(user=member).update(onboarding_completed=True)
        visit(page, seen, reverse("accounts:dashboard"))
        visit(page, seen, reverse("accounts:profile"), heading="Your profile")
        visit(page, seen, reverse("accounts:pause"), heading="Take a break")
        visit(page, seen, reverse("courses:course_detail", args=[course.slug]), heading=course.title)
        visit(page, seen, reverse("courses:lesson_detail", args=[course.slug, lesson.pk]))
        expect(page.get_by_text("Slide 1 of 2")).to_be_visible()
        page.keyboard.press("ArrowRight")
        expect(page.get_by_text("Slide 2 of 2")).to_be_visible()
        assert seen.take() == []
        visit(page, seen, reverse("workshops:workshop_list"))
        visit(page, seen, reverse("workshops:workshop_detail", args=[workshop.slug]), heading=workshop.title)
        visit(page, seen, reverse("billing:billing_home"))
        visit(page, seen, reverse("billing:receipt", args=[paid.pk]), heading="Receipt")
        expect(page.get_by_role("button", name="Print this receipt")).to_be_visible()
        visit(page, seen, reverse("billing:refund_request", args=[paid.pk]), heading="Ask for a refund")
        visit(page, seen, reverse("billing:checkout_return", args=[waiting.pk]), heading="Payment processing")
        expect(page.get_by_role("link", name="Check again")).to_be_visible()
        page.wait_for_timeout(3500)  # one poll of the static script
        assert seen.take() == []

        # Adding a card: Stripe.js from js.stripe.com, its frame, its API call, back to billing.
        visit(page, seen, reverse("billing:card_add"), heading="Add a card")
        expect(page.frame_locator("#payment-element iframe").get_by_text("Card number")).to_be_visible()
        page.get_by_role("button", name="Save card").click()
        page.wait_for_url(base + reverse("billing:billing_home"))
        page.wait_for_load_state("networkidle")
        assert seen.take() == []
        assert any(url.startswith("https://js.stripe.com/v3") for url in stripe_asked), stripe_asked
        assert "https://api.stripe.com/v1/setup_intents/seti_fake/confirm" in stripe_asked

        visit(page, seen, reverse("notifications:notification_list"))
        visit(page, seen, reverse("accounts:wellness"))
        visit(page, seen, reverse("accounts:screening"))
        visit(page, seen, reverse("accounts:screening_take", args=["epds"]))
        # Errors under their own question, and the first alert at the top, within the policy.
        page.get_by_role("button", name="See my result").click()
        expect(page.get_by_text("Please choose an answer to question 1.")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert seen.take() == []
        context.close()

        # --- Staff: the admin home, a change list and a change form with its live preview ------
        admin = browser.new_context(user_agent=DESKTOP_CHROME)
        admin.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": staff_cookie, "url": base}])
        seen = PageProblems(admin, base)
        page = admin.new_page()
        visit(page, seen, reverse("admin:index"))
        visit(page, seen, reverse("admin:content_blogpost_changelist"))
        visit(page, seen, reverse("admin:content_blogpost_change", args=[post.pk]))
        visit(page, seen, reverse("admin:notifications_emailtemplate_add"))
        page.fill("#id_key", "notifications/notice")
        page.fill("#id_subject", "Hello {{ title }}")
        page.fill("#id_html_template", '<p style="color:#7a3e6b">Preview of {{ title }}</p>')
        expect(page.frame_locator("#live-preview-html").locator("p")).to_have_text("Preview of [title]")
        expect(page.locator("#live-preview-status")).to_have_text("Preview is up to date.")
        assert seen.take() == []
        admin.close()
        browser.close()
