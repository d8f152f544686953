"""The slide player in headless Chromium: one slide at a time, arrow keys, no JS shows all slides."""

from __future__ import annotations

import contextlib
import os

from tests.browser import browser_test, launch
from tests.courses.conftest import build_course, lessons_of
from tests.waiting import wait_until


@browser_test
def test_slides_one_at_a_time_with_keyboard_and_all_without_js(live_server, transactional_db):
    from playwright.sync_api import expect, sync_playwright

    course = build_course(lessons=1, modules=1)
    lesson = lessons_of(course)[0]
    lesson.is_preview = True
    lesson.slides = ["<h2>Breathe in</h2>", "<h2>Breathe out</h2>", "<h2>Rest</h2>"]
    lesson.save()
    url = f"{live_server.url}/courses/{course.slug}/lessons/{lesson.pk}/"
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.goto(url)
        slides = page.locator(".slide")
        expect(page.get_by_text("Slide 1 of 3")).to_be_visible()
        assert [slides.nth(i).is_visible() for i in range(3)] == [True, False, False]
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.get_by_text("Slide 3 of 3")).to_be_visible()
        assert [slides.nth(i).is_visible() for i in range(3)] == [False, False, True]
        assert page.get_by_role("button", name="Next slide →").is_disabled()
        page.get_by_role("button", name="← Previous slide").click()
        expect(page.get_by_text("Slide 2 of 3")).to_be_visible()

        no_js = browser.new_context(java_script_enabled=False).new_page()
        no_js.goto(url)
        no_js_slides = no_js.locator(".slide")
        assert [no_js_slides.nth(i).is_visible() for i in range(3)] == [True, True, True]
        assert not no_js.locator("[data-slide-controls]").is_visible()
        browser.close()


def _post_signed_event(live_server, event: dict) -> int:
    """Deliver a Stripe event to the running site exactly as Stripe would: JSON body, Stripe-Signature."""
    import json
    import urllib.request

    from django.conf import settings

    from tests.billing.stripe_fakes import sign

    body = json.dumps(event).encode()
    request = urllib.request.Request(
        f"{live_server.url}/webhooks/stripe/",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, settings.STRIPE_WEBHOOK_SECRET)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local live server
        return response.status


@contextlib.contextmanager
def _connections_closed_on_exit():
    """Close the database connections opened inside Playwright's sync context.

    Django keeps a connection per context (asgiref Local), and the queries this test makes
    while Playwright runs get one of their own: closed here, it is not left idle on the test
    database when the session drops it.
    """
    from django.db import connections

    try:
        yield
    finally:
        connections.close_all()


def _wait_for(condition, *, timeout: float = 45.0, what: str) -> None:
    """Poll the database until the Celery worker has applied an event."""
    wait_until(condition, timeout=timeout, interval=0.25, what=what)


@browser_test
def test_new_member_learns_a_free_course_then_buys_and_refunds_a_paid_one(
    live_server, celery_worker_process, settings, tmp_path
):
    """The whole journey of a new member in a real browser, with payments applied by a real worker.

    Free course: browse, enroll, complete every lesson (milestones 25/50/75/100 shown as they
    arrive), confirm the name, download the certificate PDF and open the verification link
    printed on it. Paid course: a wrong discount code is refused with its reason, the right
    one prices the checkout; Stripe's hosted page is stubbed in the browser and its
    `checkout.session.completed` webhook is posted correctly signed; the worker grants
    access; the member asks for a refund, staff approve it in the admin, Stripe's `refund.updated`
    webhook arrives and the member loses access.
    """
    import re
    from decimal import Decimal

    from django.test import Client
    from playwright.sync_api import expect, sync_playwright

    from billing.models import PaymentIntent, RefundRequest
    from courses.models import CourseCertificate, CourseEnrollment, CourseMilestone
    from tests.billing.stripe_fakes import FakeStripeServer, checkout_session_obj, event, refund_obj
    from tests.factories.accounts import UserFactory
    from tests.factories.courses import CourseDiscountCodeFactory

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.BILLING_DJSTRIPE_MIRROR = False
    free = build_course(lessons=4, modules=2, title="Postpartum mood: what's normal")
    paid = build_course(lessons=2, modules=1, title="Calm in pregnancy and after birth", price=Decimal("80.00"))
    CourseDiscountCodeFactory(code="SPRING25", discount_type="percentage", discount_value=Decimal("25.00"))
    member = UserFactory(first_name="Maya", last_name="Example")
    staff = UserFactory(is_staff=True, is_superuser=True)
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests; here staff only click
    client = Client()
    client.force_login(member)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    staff_client = Client()
    staff_client.force_login(staff)
    staff_session = staff_client.cookies[settings.SESSION_COOKIE_NAME].value

    with FakeStripeServer() as stripe, sync_playwright() as playwright, _connections_closed_on_exit():
        settings.STRIPE_API_BASE = stripe.url
        browser = launch(playwright)
        context = browser.new_context(accept_downloads=True)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        # Stripe's hosted checkout page lives outside this machine: the browser gets a stand-in.
        context.route(
            "https://checkout.stripe.com/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout (test)</h1>"),
        )
        page = context.new_page()
        page.set_default_timeout(20000)

        # --- Browse and enroll in the free course ---------------------------------------
        page.goto(f"{live_server.url}/courses/")
        expect(page.get_by_role("link", name="Calm in pregnancy and after birth")).to_be_visible()
        page.get_by_role("link", name="Postpartum mood: what's normal").click()
        expect(page.get_by_role("heading", name="Free course")).to_be_visible()
        page.get_by_role("button", name="Enroll for free").click()
        expect(page.get_by_text("You're enrolled in Postpartum mood: what's normal. Welcome!")).to_be_visible()

        # --- Complete every lesson; each milestone is announced as it arrives -------------
        page.get_by_role("link", name=re.compile(r"^Start: ")).click()
        for percent in (25, 50, 75):
            expect(page.locator(".slide").first).to_be_visible()
            page.keyboard.press("ArrowRight")
            page.get_by_role("button", name="Mark complete and continue").click()
            expect(
                page.get_by_text(f"Milestone reached: {percent}% of Postpartum mood: what's normal complete.")
            ).to_be_visible()
        page.get_by_role("button", name="Mark complete", exact=True).click()
        expect(page.get_by_text("You finished Postpartum mood: what's normal. Well done!")).to_be_visible()
        expect(page.get_by_text("4 of 4 lessons")).to_be_visible()
        enrollment = CourseEnrollment.objects.get(user=member, course=free)
        assert list(CourseMilestone.objects.filter(enrollment=enrollment).values_list("percent", flat=True)) == [
            25,
            50,
            75,
            100,
        ]
        page.goto(f"{live_server.url}/notifications/")
        expect(page.get_by_role("heading", name=re.compile("^25% of Postpartum mood"))).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile("^You finished Postpartum mood"))).to_be_visible()

        # --- Certificate: confirm the name, download the PDF, follow its verification link --
        page.goto(f"{live_server.url}/courses/{free.slug}/")
        page.get_by_role("link", name="Your certificate").click()
        page.get_by_label("Your name as it should appear on the certificate").fill("Maya R. Example")
        page.get_by_role("button", name="Confirm name").click()
        expect(page.get_by_text("Your name is confirmed.")).to_be_visible()
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download your certificate (PDF)").click()
        pdf_path = tmp_path / "certificate.pdf"
        download_info.value.save_as(pdf_path)
        pdf = pdf_path.read_bytes()
        assert pdf.startswith(b"%PDF") and b"Maya R. Example" in pdf
        verify_path = re.search(rb"/certificates/verify/[A-Za-z0-9_-]+/", pdf).group().decode()
        certificate = CourseCertificate.objects.get(enrollment=enrollment)
        assert verify_path.endswith(f"/{certificate.verification_code}/")
        public = browser.new_context().new_page()  # anyone, not logged in
        public.goto(live_server.url + verify_path)
        expect(public.get_by_role("heading", name="Valid certificate ✓")).to_be_visible()
        expect(public.get_by_text("Maya R. Example")).to_be_visible()
        expect(public.get_by_text("Postpartum mood: what's normal")).to_be_visible()

        # --- Buy the paid course with a discount code --------------------------------------
        page.goto(f"{live_server.url}/courses/")
        page.get_by_role("link", name="Calm in pregnancy and after birth").click()
        expect(page.get_by_text("$80.00")).to_be_visible()
        page.get_by_label("Discount code (optional)").fill("NOPE")
        page.get_by_role("button", name="Enroll and pay").click()
        expect(page.get_by_text('We don\'t recognise the code "NOPE"')).to_be_visible()
        expect(page.get_by_label("Discount code (optional)")).to_have_value("NOPE")
        page.get_by_label("Discount code (optional)").fill("spring25")
        page.get_by_role("button", name="Enroll and pay").click()
        expect(page.get_by_role("heading", name="Stripe Checkout (test)")).to_be_visible()
        payment = PaymentIntent.objects.get(user=member, kind="course_enrollment")
        assert page.url == payment.checkout_url
        assert (payment.amount, payment.discount_amount) == (Decimal("60.00"), Decimal("20.00"))
        paid_enrollment = CourseEnrollment.objects.get(user=member, course=paid)
        assert not paid_enrollment.has_access

        # Stripe sends the member back and, separately, posts the signed webhook.
        page.goto(
            f"{live_server.url}/billing/payments/{payment.pk}/return/?session_id={payment.stripe_checkout_session_id}"
        )
        expect(page.get_by_role("heading", name="Payment processing")).to_be_visible()
        completed = event("checkout.session.completed", checkout_session_obj(payment, pi_id="pi_journey_1"))
        assert _post_signed_event(live_server, completed) == 200
        _wait_for(lambda: CourseEnrollment.objects.get(pk=paid_enrollment.pk).has_access, what="access after payment")
        page.reload()
        expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
        page.get_by_role("link", name="Continue").click()
        expect(page.get_by_role("heading", name="Your progress")).to_be_visible()
        page.get_by_role("link", name=re.compile(r"^Start: ")).click()
        expect(page.get_by_role("button", name="Mark complete and continue")).to_be_visible()
        paid_enrollment.refresh_from_db()
        assert (paid_enrollment.payment_status, paid_enrollment.discount_code_used) == ("paid", "SPRING25")
        assert paid_enrollment.discount_amount == Decimal("20.00")

        # --- Ask for a refund; access ends when it is granted --------------------------------
        page.goto(f"{live_server.url}/billing/")
        page.get_by_role("link", name="Ask for a refund").click()
        page.get_by_label("Why are you asking for a refund?").fill("The course is not right for me at the moment.")
        page.get_by_role("button", name="Send request").click()
        expect(page.get_by_text("Thank you. Our team will review your refund request")).to_be_visible()
        lesson_url = f"{live_server.url}/courses/{paid.slug}/lessons/{lessons_of(paid)[0].pk}/"
        page.goto(lesson_url)
        expect(page.get_by_role("button", name="Mark complete and continue")).to_be_visible()  # still open

        # Staff approve it in the admin, in their own browser session.
        stripe.refund_status = "pending"  # Stripe confirms the refund later, by webhook
        staff_context = browser.new_context()
        staff_context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": staff_session, "url": live_server.url}]
        )
        admin_page = staff_context.new_page()
        admin_page.goto(f"{live_server.url}/admin/billing/refundrequest/")
        refund = RefundRequest.objects.get(payment=payment)
        admin_page.locator(f'input[name="_selected_action"][value="{refund.pk}"]').check()
        admin_page.locator('select[name="action"]').select_option("approve_refunds")
        admin_page.get_by_role("button", name="Go").click()
        expect(admin_page.get_by_role("heading", name="Refund these payments through Stripe?")).to_be_visible()
        admin_page.get_by_role("button", name="Yes, refund through Stripe").click()
        expect(admin_page.get_by_text("1 refund sent to Stripe.")).to_be_visible()
        staff_context.close()
        refund.refresh_from_db()
        assert refund.status == "processing" and refund.decided_by_id == staff.pk
        assert CourseEnrollment.objects.get(pk=paid_enrollment.pk).has_access
        payment.refresh_from_db()
        succeeded = refund_obj(
            payment,
            amount=payment.amount_cents,
            refund_id=refund.stripe_refund_id,
            metadata={"bloom_refund_request_id": str(refund.pk)},
        )
        assert _post_signed_event(live_server, event("refund.updated", succeeded)) == 200
        _wait_for(
            lambda: CourseEnrollment.objects.get(pk=paid_enrollment.pk).access_revoked_at is not None,
            what="access revoked after the refund",
        )
        page.goto(lesson_url)
        expect(page.get_by_text("Your access to this course has ended. You can enroll again below.")).to_be_visible()
        expect(page.get_by_role("button", name="Enroll and pay")).to_be_visible()
        browser.close()

    paid_enrollment.refresh_from_db()
    assert paid_enrollment.payment_status == "refunded"
    assert CourseEnrollment.objects.get(pk=enrollment.pk).has_access  # the free course is untouched
