"""The clinician's day in a real browser: from the admin index to her sessions, a SOAP note written,
signed after a confirmation, an addendum added, and her client's chart; no CSP problem on the way."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from appointments.models import NoteStatus, SessionNote
from tests.appointments.support_workspace import staff_login
from tests.browser import BROWSER, PageProblems, launch, session_cookie_for
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory

pytestmark = BROWSER


@pytest.fixture
def clinician(transactional_db, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests
    user = staff_login("clinician", first_name="Jana", last_name="Rundle").user
    therapist = TherapistProfileFactory(user=user, display_name="Dr. Jana Rundle", timezone="America/Los_Angeles")
    member = UserFactory(first_name="Lena", last_name="Okoye")
    starts = timezone.now() - timedelta(hours=1)
    appointment = AppointmentDataFactory(
        user=member, therapist=therapist, starts_at=starts, ends_at=starts + timedelta(minutes=50)
    )
    return user, appointment


def test_a_clinician_writes_signs_and_adds_to_a_note_from_her_workspace(live_server, clinician):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    user, appointment = clinician
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        problems = PageProblems(context, live_server.url)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(user), "url": live_server.url}]
        )
        page = context.new_page()
        problems.watch(page)
        page.goto(f"{live_server.url}/admin/")
        page.get_by_role("link", name="Your sessions today and this week").click()
        expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
        row = page.locator("tr", has_text="Lena Okoye").first
        row.get_by_role("link", name="Write a note").click()

        body = page.get_by_label("Body")
        expect(body).to_have_value("Subjective:\n\nObjective:\n\nAssessment:\n\nPlan:\n")
        body.fill("Subjective:\nSleeping four hours.\n\nPlan:\nWeekly sessions.")
        page.get_by_role("button", name="Save and continue editing").click()
        note = SessionNote.objects.get(appointment=appointment)

        page.get_by_role("link", name="Sign and lock").click()
        expect(page.get_by_text("Signing cannot be undone.")).to_be_visible()
        page.get_by_role("button", name="Sign and lock").click()
        expect(page.get_by_text("Signed and locked. Later changes are addenda.")).to_be_visible()
        note.refresh_from_db()
        assert note.status == NoteStatus.SIGNED
        expect(page.get_by_label("Body")).to_have_count(0)

        page.get_by_role("link", name="Add an addendum").click()
        page.get_by_label("Addendum").fill("She called on Friday: sleeping better.")
        page.get_by_role("button", name="Add the addendum").click()
        expect(page.get_by_text("Addendum added; the signed text is unchanged.")).to_be_visible()
        expect(page.get_by_text("She called on Friday: sleeping better.")).to_be_visible()
        assert [v.kind for v in note.versions.order_by("number")] == ["draft", "signed", "addendum"]

        page.goto(f"{live_server.url}/admin/appointments/therapistprofile/workspace/")
        page.get_by_role("link", name="Lena Okoye").first.click()
        expect(page.get_by_role("heading", name="Chart: Lena Okoye")).to_be_visible()
        expect(page.get_by_text("SOAP (subjective, objective, assessment, plan), signed and locked")).to_be_visible()
        assert problems.take() == []
        browser.close()
