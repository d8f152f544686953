"""A content editor in a real browser (issue 12): she signs in with her password and an authenticator
code, finds the blog and the courses, and the postpartum contact message, the CVs and the chats are
out of her reach (403), even typed straight into the address bar."""

import os

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse

from accounts.models import AdminRole
from accounts.roles import roles_sync_defaults
from accounts.services import admin_user_role_set
from tests.browser import BROWSER, launch
from tests.factories.accounts import DEFAULT_PASSWORD, AdminUserFactory, UserFactory
from tests.factories.content import (
    BlogPostFactory,
    CareerApplicationFactory,
    ChatConversationFactory,
    ChatMessageFactory,
    ContactSubmissionFactory,
)
from tests.factories.courses import CourseFactory

pytestmark = BROWSER


@pytest.fixture
def editor(transactional_db):
    roles_sync_defaults()
    user = UserFactory(email="editor@bloom.test", first_name="Mara", is_staff=True)
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug="content_editor"))
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


@pytest.fixture
def private_rows(transactional_db):
    contact = ContactSubmissionFactory(
        subject="Since the birth", message="Since my baby was born I cry every day and feel nothing for her."
    )
    application = CareerApplicationFactory()
    chat = ChatConversationFactory(subject="Feeling low after birth")
    ChatMessageFactory(conversation=chat, body="I have not slept in days and I am scared.")
    BlogPostFactory(title="Sleep in the fourth trimester")
    CourseFactory(title="Calm after birth")
    return {
        "the contact message": reverse("admin:content_contactsubmission_change", args=[contact.pk]),
        "the contact messages": reverse("admin:content_contactsubmission_changelist"),
        "a CV": reverse("admin:content_careerapplication_cv", args=[application.pk]),
        "the applications": reverse("admin:content_careerapplication_changelist"),
        "the chat": reverse("admin:content_chatconversation_change", args=[chat.pk]),
        "the chat messages": reverse("admin:content_chatmessage_changelist"),
        "the subscribers": reverse("admin:content_subscriber_changelist"),
    }


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def test_a_content_editor_reaches_the_blog_and_courses_but_no_private_messages(live_server, editor, private_rows):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    user, secret = editor
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        page = context.new_page()

        page.goto(f"{live_server.url}/admin/")
        page.locator("input[name=login]").fill(user.email)
        page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
        page.locator("form").filter(has=page.locator("input[name=password]")).locator("button[type=submit]").click()
        expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
        page.locator("input[name=code]").fill(_code(secret))
        page.get_by_role("button", name="Sign In").click()

        page.wait_for_url(f"{live_server.url}/admin/")
        expect(page.get_by_role("link", name="Blog posts").first).to_be_visible()
        expect(page.get_by_role("link", name="Courses").first).to_be_visible()
        for hidden in ("Contact submissions", "Career applications", "Chat conversations", "Subscribers"):
            expect(page.get_by_role("link", name=hidden, exact=True)).to_have_count(0)

        page.get_by_role("link", name="Blog posts").first.click()
        expect(page.get_by_role("link", name="Sleep in the fourth trimester")).to_be_visible()

        reached = {}
        for what, url in private_rows.items():
            response = page.goto(f"{live_server.url}{url}")
            reached[what] = response.status
            expect(page.get_by_text("I cry every day")).to_have_count(0)
            expect(page.get_by_text("I am scared")).to_have_count(0)
        assert reached == dict.fromkeys(private_rows, 403)
        browser.close()
