"""A postpartum member takes the EPDS in a real browser and answers question 10 "Hardly ever":
the result page shows the crisis resources, her clinician has a top-priority email in the outbox
and a portal notice, the admin queue shows the alert, an unacknowledged alert escalates to the
owner once time moves on, and the clinician's acknowledgement writes an audit row."""

import datetime
import importlib
import os
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import AdminActivityLog, AdminRole, RiskAlert
from accounts.roles import roles_sync_defaults
from accounts.services import admin_user_role_set, risk_alerts_escalate
from notifications.models import EmailPriority, EmailQueue, UserNotification
from tests.browser import BROWSER, launch
from tests.factories.accounts import AdminUserFactory, UserFactory
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory

pytestmark = BROWSER

# The EPDS option that scores 0 on each question (items 3 and 5-10 are reverse-scored).
ZERO_ANSWERS = {
    1: "As much as I always could",
    2: "As much as I ever did",
    3: "No, never",
    4: "No, not at all",
    5: "No, not at all",
    6: "No, I have been coping as well as ever",
    7: "No, not at all",
    8: "No, not at all",
    9: "No, never",
}


def _session_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _staff(role: str, **names):
    user = UserFactory(is_staff=True, **names)
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug=role))
    return user


@pytest.fixture
def journey(transactional_db, settings):
    from django.apps import apps

    # A live-server test flushes the tables afterwards, so the default points are put back here.
    importlib.import_module("accounts.migrations.0005_default_screening_points").add_points(apps, None)
    roles_sync_defaults()
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests; here staff only click
    settings.BLOOM_RISK_ALERT_ESCALATE_AFTER = 30
    member = UserFactory(first_name="Rosa", last_name="Quinn")
    member.profile.stage = "postpartum"
    member.profile.baby_birth_date = timezone.localdate() - datetime.timedelta(weeks=2, days=3)
    member.profile.save()
    clinician = _staff("clinician", first_name="Jana", last_name="Rundle")
    therapist = TherapistProfileFactory(user=clinician, display_name="Dr. Jana Rundle", credentials="PsyD")
    AppointmentDataFactory(user=member, therapist=therapist)
    owner = _staff("owner", first_name="Olivia", last_name="Owner")
    return member, clinician, owner


def test_epds_item_10_hardly_ever_reaches_her_clinician_and_the_admin_queue(live_server, journey):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    member, clinician, owner = journey
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": _session_for(member), "url": live_server.url}]
        )
        page = context.new_page()

        # The point she reached is offered; she takes it.
        page.goto(f"{live_server.url}/screening/")
        main = page.locator("main")
        expect(main.get_by_text("Two weeks after birth", exact=True)).to_be_visible()
        main.get_by_role("link", name="Take it now").click()
        expect(page.get_by_role("heading", name="Edinburgh Postnatal Depression Scale")).to_be_visible()
        for number, answer in ZERO_ANSWERS.items():
            main.get_by_role("group", name=re.compile(rf"^{number}\. ")).get_by_label(answer, exact=True).check()
        question_10 = main.get_by_role("group", name="10. The thought of harming myself has occurred to me")
        question_10.get_by_label("Hardly ever", exact=True).check()
        main.get_by_role("button", name="See my result").click()

        # Crisis resources first, then her score.
        expect(page.get_by_role("heading", name="Your EPDS result")).to_be_visible()
        crisis = main.get_by_role("region", name="You don't have to carry this alone. Help is here right now.")
        expect(crisis).to_be_visible()
        expect(crisis.get_by_role("link", name="call 988")).to_have_attribute("href", "tel:988")
        expect(crisis.get_by_role("link", name="text 988")).to_be_visible()
        expect(crisis.get_by_role("link", name="call 1-833-852-6262")).to_have_attribute("href", "tel:+18338526262")
        expect(crisis.get_by_role("link", name="Call 911")).to_be_visible()
        expect(crisis.get_by_text("Dr. Jana Rundle, PsyD")).to_be_visible()
        expect(crisis.get_by_role("link", name=clinician.email)).to_be_visible()
        expect(crisis.get_by_text("We have let your clinician know")).to_be_visible()
        expect(main.get_by_role("heading", name="Your score: 1 of 30")).to_be_visible()

        # Her clinician: a top-priority email in the outbox (no answers in it) and a portal notice.
        alert = RiskAlert.objects.get(user=member)
        assert alert.assigned_clinician == clinician
        (mail,) = EmailQueue.objects.filter(to_email=clinician.email)
        assert mail.priority == EmailPriority.HIGH == min(EmailPriority.values)
        assert "Hardly ever" not in mail.text_body and "Rosa" not in mail.text_body
        assert UserNotification.objects.filter(user=clinician, type="risk_alert").count() == 1

        # Nobody acknowledges for 31 minutes: the owner is alerted, once.
        assert risk_alerts_escalate(now=alert.created_at + datetime.timedelta(minutes=29)) == 0
        assert risk_alerts_escalate(now=alert.created_at + datetime.timedelta(minutes=31)) == 1
        assert risk_alerts_escalate(now=alert.created_at + datetime.timedelta(minutes=45)) == 0
        (escalation,) = EmailQueue.objects.filter(to_email=owner.email)
        assert escalation.priority == EmailPriority.HIGH
        assert escalation.subject.startswith("Not yet acknowledged:")

        # The clinician sees the notice and the alert in the admin queue, and acknowledges it.
        staff_context = browser.new_context()
        staff_context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": _session_for(clinician), "url": live_server.url}]
        )
        admin_page = staff_context.new_page()
        admin_page.goto(f"{live_server.url}/notifications/")
        expect(admin_page.get_by_text("A client's screening needs your attention").first).to_be_visible()
        admin_page.goto(f"{live_server.url}/admin/accounts/riskalert/?status=open")
        row = admin_page.locator("#result_list tbody tr", has_text=member.email)
        expect(row).to_contain_text("Escalated, waiting")
        expect(row).to_contain_text("question 10")
        row.locator("th a, td a").first.click()
        admin_page.get_by_role("button", name="Acknowledge").click()
        expect(admin_page.get_by_role("heading", name="Acknowledge these alerts?")).to_be_visible()
        admin_page.get_by_label("Note for the record").fill("Called Rosa; safe; seeing her tomorrow.")
        admin_page.get_by_role("button", name="Yes, I am taking care of them").click()
        expect(admin_page.get_by_text("1 alert acknowledged.")).to_be_visible()
        staff_context.close()
        context.close()
        browser.close()

    alert.refresh_from_db()
    assert alert.acknowledged_by == clinician and alert.acknowledged_at is not None
    (audit,) = AdminActivityLog.objects.filter(object_type="accounts.riskalert", object_id=str(alert.pk))
    assert audit.user == clinician and audit.changes["acknowledged"] is True
