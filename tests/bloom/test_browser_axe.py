"""axe-core over every member and public page, logged out and in, with and without a flash message.

Any serious or critical finding fails (issue 17, point 5). The member pages are the ones pinned in
tests/bloom/test_views_query_counts.py (so a new member page is walked here as soon as it is
pinned there), opened with the same little history; the public pages are listed below. A flash
message is put in the messages cookie before a page loads, the way a redirect after a form leaves
one. Pages are opened at a phone width and at a desktop width, so the menu button is checked
closed and open.
"""

from __future__ import annotations

import os

from django.urls import reverse

from tests.browser import BROWSER, axe_findings, launch, session_cookie_for

pytestmark = BROWSER

# Member pages that are not HTML pages (downloads) are not walked.
NOT_HTML = {"accounts:wellness_summary"}

PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 800}


def _public_paths(history, post, job) -> list[str]:
    return [
        reverse("home"),
        reverse("content:blog_list"),
        reverse("content:blog_detail", args=[post.slug]),
        reverse("content:newsletter_signup"),
        reverse("content:contact"),
        reverse("content:career_list"),
        reverse("content:career_detail", args=[job.slug]),
        reverse("courses:course_list"),
        reverse("courses:course_detail", args=[history.course.slug]),
        reverse("workshops:workshop_list"),
        reverse("workshops:workshop_detail", args=[history.workshop.slug]),
        reverse("account_signup"),
        reverse("account_login"),
        reverse("account_reset_password"),
    ]


def _member_paths(history) -> list[str]:
    from accounts.models import UserProfile
    from tests.bloom.test_views_query_counts import PINNED

    UserProfile.objects.filter(user=history.member).update(onboarding_completed=True)
    paths = [
        reverse(name, kwargs=kwargs_for(history))
        for name, (kwargs_for, _) in sorted(PINNED.items())
        if name not in NOT_HTML
    ]
    paths.append(reverse("billing:refund_request", args=[history.payment.pk]))
    return paths


def _flash_cookie(text: str) -> str:
    """The value of Django's messages cookie holding one success message."""
    from django.contrib import messages
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest

    return CookieStorage(HttpRequest())._encode([Message(messages.SUCCESS, text)])


def _walk(browser, base, paths, *, cookie=None, viewport, flash) -> dict[str, list[str]]:
    from django.conf import settings
    from django.contrib.messages.storage.cookie import CookieStorage
    from playwright.sync_api import expect

    context = browser.new_context(bypass_csp=True, viewport=viewport)
    if cookie:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    found: dict[str, list[str]] = {}
    for path in paths:
        if flash:
            context.add_cookies(
                [{"name": CookieStorage.cookie_name, "value": _flash_cookie("Saved. Thank you."), "url": base}]
            )
        response = page.goto(base + path)
        assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
        if flash:
            expect(page.get_by_role("status").get_by_text("Saved. Thank you.")).to_be_visible()
        if viewport is PHONE and page.locator(".nav-toggle").is_visible():
            page.locator(".nav-toggle").click()  # the open menu is checked too
            expect(page.locator("#nav-links")).to_be_visible()
        findings = axe_findings(page)
        if findings:
            found[path] = findings
    context.close()
    return found


def test_every_page_has_no_serious_or_critical_axe_finding(live_server, transactional_db):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    from tests.bloom.test_views_query_counts import _history
    from tests.factories.content import BlogPostFactory, JobPostingFactory

    history = _history()
    post = BlogPostFactory(published=True, title="Sleep when the baby sleeps?")
    job = JobPostingFactory()
    public = _public_paths(history, post, job)
    member = _member_paths(history)
    cookie = session_cookie_for(history.member)
    base = live_server.url

    problems: dict[str, dict[str, list[str]]] = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for flash in (False, True):
            for viewport in (DESKTOP, PHONE):
                label = f"{'flash' if flash else 'plain'} {viewport['width']}px"
                problems[f"visitor, {label}"] = _walk(browser, base, public, viewport=viewport, flash=flash)
                problems[f"member, {label}"] = _walk(
                    browser, base, public + member, cookie=cookie, viewport=viewport, flash=flash
                )
        browser.close()
    problems = {run: pages for run, pages in problems.items() if pages}
    assert problems == {}, "\n".join(
        f"{run} {path}: {line}" for run, pages in problems.items() for path, lines in pages.items() for line in lines
    )
