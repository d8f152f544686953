"""One journey through a real browser: sign up, verify, onboard, dashboard, preferences, log out and in."""

import datetime
import os

import pytest
from django.utils import timezone

from accounts.models import UserAchievement, UserPreferences, UserProfile
from tests.browser import BROWSER, launch

from .helpers import CONFIRM_URL

pytestmark = BROWSER


@pytest.fixture
def page(live_server):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        context.close()
        browser.close()


def _received_mail(to: str):
    """Drain the outbox through Django's mail backend (locmem in tests) and return what `to` got."""
    from django.core import mail

    from notifications.drain import email_queue_drain

    email_queue_drain()
    return [message for message in mail.outbox if message.to == [to]]


def test_member_journey(page, live_server, triggers):
    # Every check on a page goes through expect(), which waits for the page a click leads to.
    from playwright.sync_api import expect

    email = "journey@example.com"
    password = "Gentle-river-stones-31"
    main = page.locator("main")

    page.goto(f"{live_server.url}/accounts/signup/")
    expect(main.get_by_label("Yes, send me Bloom's newsletter")).not_to_be_checked()  # explicit, unticked
    main.get_by_label("Email").fill(email)
    main.get_by_label("Password", exact=True).fill(password)
    main.get_by_label("Password (again)").fill(password)
    main.get_by_label("How did you hear about us? (optional)").fill("Our midwife")
    main.get_by_label("I agree to the terms of use and have read the privacy notice.").check()
    main.get_by_label("Yes, send me Bloom's newsletter").check()
    main.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")

    # The verification mail leaves through the outbox like every other mail.
    # Marketing consent was given, so the welcome sequence's first email arrives beside it.
    received = _received_mail(email)
    assert len(received) == 2 and sum(m.subject.startswith("Welcome to Bloom") for m in received) == 1
    (match,) = [m for m in (CONFIRM_URL.search(message.body) for message in received) if m]
    page.goto(live_server.url + match.group(1))
    main.get_by_role("button", name="Confirm").click()

    # Confirming signs the member in; the dashboard sends them to onboarding.
    page.wait_for_url("**/welcome/**")
    main.get_by_label("First name").fill("Jo")
    main.get_by_label("Last name").fill("Rivera")
    main.get_by_role("button", name="Continue").click()

    # A due date in the past is refused; the choice is kept and corrected in place.
    main.get_by_label("Pregnant").check()
    main.get_by_label("Due date").fill((timezone.localdate() - datetime.timedelta(days=3)).isoformat())
    main.get_by_role("button", name="Continue").click()
    expect(main.get_by_text("Your due date should be in the future.")).to_be_visible()
    expect(main.get_by_label("Pregnant")).to_be_checked()
    main.get_by_label("Postpartum").check()
    born = timezone.localdate() - datetime.timedelta(days=30)
    main.get_by_label("Baby's birth date").fill(born.isoformat())
    main.get_by_role("button", name="Continue").click()
    expect(main).to_contain_text("Step 3 of 4")

    # Leaving half-way and coming back resumes at the step reached.
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_url("**/welcome/")
    expect(main).to_contain_text("Step 3 of 4")

    main.get_by_label("Sleep").check()
    main.get_by_label("Your time zone").fill("Not/AZone")
    main.get_by_role("button", name="Continue").click()
    expect(main.get_by_text("We don't recognise the time zone “Not/AZone”")).to_be_visible()
    expect(main.get_by_label("Your time zone")).to_have_value("Not/AZone")
    main.get_by_label("Your time zone").fill("America/Chicago")
    main.get_by_role("button", name="Continue").click()

    main.get_by_label("Workshop reminders").uncheck()
    main.get_by_role("button", name="Finish").click()
    page.wait_for_url("**/dashboard/")
    expect(main.get_by_role("heading", name="Welcome, Jo")).to_be_visible()
    expect(main.get_by_role("heading", name="Wellness")).to_be_visible()
    expect(main.get_by_text("No check-ins yet.")).to_be_visible()
    expect(main.get_by_text("Completed onboarding")).to_be_visible()

    page.get_by_role("link", name="Account", exact=True).click()
    main.get_by_label("Gentle reminders to check in on your wellness").check()
    main.get_by_role("button", name="Save preferences").click()
    expect(page.locator("body")).to_contain_text("Your notification preferences are saved.")
    expect(main.get_by_label("Gentle reminders to check in on your wellness")).to_be_checked()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Log out")).to_have_count(0)
    nav.get_by_role("link", name="Log in").click()
    page.wait_for_url("**/accounts/login/")
    main.get_by_label("Email").fill(email)
    main.get_by_label("Password").fill(password)
    main.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")
    expect(main.get_by_role("heading", name="Welcome, Jo")).to_be_visible()

    profile = UserProfile.objects.get(user__email=email)
    assert (profile.stage, profile.due_date, profile.baby_birth_date, profile.timezone) == (
        "postpartum",
        None,
        born,
        "America/Chicago",
    )
    assert profile.onboarding_completed is True
    assert profile.email_verified is True
    assert profile.referral_source == "Our midwife"
    preferences = UserPreferences.objects.get(user__email=email)
    assert (preferences.workshop_reminders, preferences.wellness_reminders, preferences.newsletter) == (
        False,
        True,
        True,
    )
    assert list(UserAchievement.objects.filter(user__email=email).values_list("key", flat=True)) == ["welcome"]
    assert [t["trigger"] for t in triggers] == ["member_signed_up", "email_verified"]
