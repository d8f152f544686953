"""A keyboard-only journey with visible focus (issue 17, point 5): sign up, onboarding, a lesson,
a workshop registration. Only Tab, Shift+Tab, arrows, Space, Enter and typing are used on the
pages (the one exception is opening the confirmation link from the email, as a mail client
would); at every Tab stop the focused element must show a focus ring (outline or box shadow)
and be on screen, and axe-core finds nothing serious on each page reached.
"""

from __future__ import annotations

import os

from tests.browser import BROWSER, DESKTOP_CHROME, axe_findings, launch

pytestmark = BROWSER

FOCUS = """(target) => {
  const el = document.activeElement;
  const cs = getComputedStyle(el);
  const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  const onScreen = box.width > 0 && box.height > 0 && box.right > 0 && box.left < window.innerWidth;
  const label = `${el.tagName.toLowerCase()}#${el.id} ${(el.textContent || el.value || "").trim().slice(0, 40)}`;
  const hit = el.matches(target.selector) && (!target.text || (el.textContent || "").includes(target.text));
  return {ring, onScreen, label, hit, away: el === document.body || !el.matches(":focus")};
}"""


def _tab_to(page, selector: str, text: str = "", limit: int = 60) -> list[str]:
    """Press Tab until the focus is on `selector` (containing `text`); every stop on the way must
    show a ring and be on screen. Returns the stops, for the failure message."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS, {"selector": selector, "text": text})
        if info["away"]:  # the focus is in the browser's own UI (past the page's last stop), not the page
            continue
        stops.append(info["label"])
        assert info["ring"], f"no visible focus on {info['label']} (stops: {stops})"
        assert info["onScreen"], f"focus went off screen to {info['label']} (stops: {stops})"
        if info["hit"]:
            return stops
    raise AssertionError(f"never reached {selector} {text!r} by Tab; stops: {stops}")


def test_keyboard_only_journey_signup_onboarding_lesson_workshop(live_server, transactional_db):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    from tests.accounts.helpers import CONFIRM_URL
    from tests.accounts.test_browser import _received_mail
    from tests.courses.conftest import build_course
    from tests.factories.workshops import WorkshopFactory

    course = build_course(lessons=2, modules=1, title="Gentle first weeks")
    workshop = WorkshopFactory(title="Sleep and the new baby")
    email, password = "keys@example.com", "Gentle-river-stones-31"
    base = live_server.url

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(
            user_agent=DESKTOP_CHROME, bypass_csp=True, viewport={"width": 1280, "height": 800}
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        keys = page.keyboard
        main = page.locator("main")

        def settle():
            page.wait_for_load_state("networkidle")
            assert axe_findings(page) == [], page.url

        # Sign up.
        page.goto(base + "/accounts/signup/")
        settle()
        _tab_to(page, "#id_email")
        keys.type(email)
        _tab_to(page, "#id_password1")
        keys.type(password)
        _tab_to(page, "#id_password2")
        keys.type(password)
        _tab_to(page, "#id_agree_terms")
        keys.press("Space")
        _tab_to(page, "main button[type=submit]", "Sign Up")
        keys.press("Enter")
        page.wait_for_url("**/accounts/confirm-email/")

        (match,) = [m for m in (CONFIRM_URL.search(message.body) for message in _received_mail(email)) if m]
        page.goto(base + match.group(1))
        settle()
        _tab_to(page, "main button", "Confirm")
        keys.press("Enter")

        # Onboarding, four steps.
        page.wait_for_url("**/welcome/**")
        settle()
        _tab_to(page, "#id_first_name")
        keys.type("Jo")
        _tab_to(page, "#id_last_name")
        keys.type("Rivera")
        _tab_to(page, "main button[type=submit]", "Continue")
        keys.press("Enter")
        expect(main).to_contain_text("Step 2 of 4")
        settle()
        _tab_to(page, "input[name=stage]")
        for _ in range(3):  # Pregnant -> Postpartum -> After a loss -> Other, with the arrow keys
            keys.press("ArrowDown")
        expect(main.get_by_label("Other", exact=True)).to_be_checked()
        _tab_to(page, "main button[type=submit]", "Continue")
        keys.press("Enter")
        expect(main).to_contain_text("Step 3 of 4")
        settle()
        _tab_to(page, "main button[type=submit]", "Continue")
        keys.press("Enter")
        expect(main).to_contain_text("Step 4 of 4")
        settle()
        _tab_to(page, "main button[type=submit]", "Finish")
        keys.press("Enter")
        page.wait_for_url("**/dashboard/")
        expect(main.get_by_role("heading", name="Welcome, Jo")).to_be_visible()
        settle()

        # A lesson: Courses in the menu, the course, enroll, start, mark complete.
        _tab_to(page, ".nav-links a", "Courses")
        keys.press("Enter")
        page.wait_for_url("**/courses/")
        settle()
        _tab_to(page, "main a", course.title)
        keys.press("Enter")
        expect(page.get_by_role("heading", name=course.title, level=1)).to_be_visible()
        settle()
        _tab_to(page, "main button[type=submit]", "Enroll for free")
        keys.press("Enter")
        expect(main.get_by_role("link", name="Start:")).to_be_visible()
        settle()
        _tab_to(page, "main a", "Start:")
        keys.press("Enter")
        expect(main.get_by_role("button", name="Mark complete")).to_be_visible()
        settle()
        _tab_to(page, "main button[type=submit]", "Mark complete")
        with page.expect_navigation():
            keys.press("Enter")
        settle()

        # A workshop: Workshops in the menu, the workshop, Register.
        _tab_to(page, ".nav-links a", "Workshops")
        keys.press("Enter")
        page.wait_for_url("**/workshops/")
        settle()
        _tab_to(page, "main a", workshop.title)
        keys.press("Enter")
        expect(page.get_by_role("heading", name=workshop.title, level=1)).to_be_visible()
        settle()
        _tab_to(page, "main button[type=submit]", "Register")
        keys.press("Enter")
        expect(main.get_by_role("button", name="Cancel my registration")).to_be_visible()
        settle()
        browser.close()

    from courses.models import CourseProgress, ProgressStatus
    from workshops.models import WorkshopRegistration

    assert CourseProgress.objects.filter(user__email=email, status=ProgressStatus.COMPLETED).count() == 1
    assert WorkshopRegistration.objects.filter(workshop=workshop, user__email=email).exists()
