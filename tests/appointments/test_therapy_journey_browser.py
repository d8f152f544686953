"""Issue 11's journey end to end, in headless Chromium against the live server.

Maya finds a therapist, saves a card, accepts the policy and leaves for Calendly; four bookings
then arrive as signed Calendly webhooks (booked under another email, tied to her by the
tracking value on her link): the first is held by the beat, reminded at 48 h and 2 h, attended
and captured; the second is a no-show whose fee is charged once after the clinician confirms; the
third is rescheduled with Calendly's events in the other order; the fourth is cancelled by the
therapist. Stripe is the fake API server (tests/billing/stripe_fakes.py); calendly.com and
js.stripe.com are never reached.

The live server runs on the real clock. Sweeps are called with `now=` moved forward; when a
session's hour must really have come (to join it, or to mark it), its start is moved to the
present instead: the live server and billing's check of Stripe's card window read the real clock.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.browser import BROWSER, DESKTOP_CHROME, PageProblems, axe_findings, launch, session_cookie_for

from .conftest import calendly_body, sign

pytestmark = BROWSER

PERSONAL_EMAIL = "maya.personal@example.net"  # what she typed into Calendly, not her Bloom login
ZOOM = "https://us02web.zoom.us/j/8123456789"


@pytest.fixture
def eager_tasks():
    """Tasks queued on commit run at once in this process, through the worker's code path: the
    webhook's processing task and the hold steps it queues, and the outbox drain."""
    from bloom.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def _tracking(value: str) -> dict:
    return {
        "utm_campaign": None,
        "utm_source": None,
        "utm_medium": None,
        "utm_content": value,
        "utm_term": None,
        "salesforce_uuid": None,
    }


def _invitee_uri() -> str:
    return f"https://api.calendly.com/scheduled_events/{uuid.uuid4().hex.upper()}/invitees/{uuid.uuid4().hex.upper()}"


class Calendly:
    """Calendly's side: bodies shaped like its v2 webhooks, signed and POSTed to the live server."""

    def __init__(self, base_url: str, *, host_uri: str, tracking: str) -> None:
        self.url = f"{base_url}/webhooks/calendly/"
        self.host_uri = host_uri
        self.tracking = tracking

    def deliver(self, body: dict) -> None:
        from appointments.models import CalendlyWebhookEvent
        from appointments.webhooks import calendly_event_uuid

        raw = json.dumps(body).encode()
        response = requests.post(
            self.url,
            data=raw,
            headers={"Content-Type": "application/json", "Calendly-Webhook-Signature": sign(raw)},
            timeout=30,
            allow_redirects=False,
        )
        assert response.status_code == 200, response.text
        event = CalendlyWebhookEvent.objects.get(event_uuid=calendly_event_uuid(body=body))
        assert event.processed and not event.error_message, (event.processed, event.error_message)

    def created(self, *, uri: str, starts_at, old_invitee: str | None = None) -> None:
        body = calendly_body(email=PERSONAL_EMAIL, host_uri=self.host_uri, invitee_uri=uri, starts_at=starts_at)
        body["payload"]["tracking"] = _tracking(self.tracking)
        body["payload"]["old_invitee"] = old_invitee
        self.deliver(body)

    def canceled(self, *, uri: str, starts_at, by: str, new_invitee: str | None = None) -> None:
        body = calendly_body(
            event="invitee.canceled",
            email=PERSONAL_EMAIL,
            host_uri=self.host_uri,
            invitee_uri=uri,
            starts_at=starts_at,
            rescheduled=new_invitee is not None,
            reason="Rescheduled" if new_invitee else "Therapist unwell",
        )
        body["payload"]["tracking"] = _tracking(self.tracking)
        body["payload"]["new_invitee"] = new_invitee
        body["payload"]["cancellation"]["canceler_type"] = by
        body["payload"]["cancellation"]["canceled_by"] = "Dr. Ada Hart" if by == "host" else "Maya Member"
        self.deliver(body)


def _start(minutes_ago: int):
    from django.utils import timezone

    return timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_ago)


def _time_passes(appointment, *, days: int) -> None:
    """Days pass before a session: it moves that much nearer the present (see the module
    docstring); billing checks Stripe's card window against the real clock."""
    from appointments.models import AppointmentData

    shift = timedelta(days=days)
    AppointmentData.objects.filter(pk=appointment.pk).update(
        starts_at=appointment.starts_at - shift, ends_at=appointment.ends_at - shift
    )
    appointment.refresh_from_db()


def _session_hour_comes(appointment, *, minutes_ago: int) -> None:
    """The session's hour arrives: its start moves to the present (see the module docstring)."""
    from appointments.models import AppointmentData

    starts = _start(minutes_ago)
    AppointmentData.objects.filter(pk=appointment.pk).update(starts_at=starts, ends_at=starts + timedelta(minutes=50))
    appointment.refresh_from_db()


def test_the_therapy_practice_end_to_end(live_server, transactional_db, settings, monkeypatch, eager_tasks):
    from django.core import mail
    from django.db import connection
    from django.utils import timezone
    from playwright.sync_api import expect, sync_playwright

    from accounts.models import AdminActivityLog, UserProfile
    from appointments.holds import appointment_holds_sweep
    from appointments.models import AppointmentData, AppointmentPayment, AppointmentReminderLog
    from appointments.reminders import appointment_reminders_send
    from appointments.tracking import booking_link_for_tracking
    from billing import services as billing_services
    from tests.appointments.support_booking import bookable_therapist
    from tests.appointments.support_workspace import staff_login
    from tests.billing.stripe_fakes import running_fake_stripe
    from tests.factories.accounts import UserFactory

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.BILLING_DJSTRIPE_MIRROR = False
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests
    settings.BLOOM_APPOINTMENT_REMINDER_OFFSETS = "48h,2h"
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)

    clinician = staff_login("clinician", first_name="Ada", last_name="Hart").user
    therapist = bookable_therapist()
    therapist.user = clinician
    therapist.calendly_user_uri = "https://api.calendly.com/users/ADAHART"
    therapist.save(update_fields=["user", "calendly_user_uri"])
    member = UserFactory(first_name="Maya", last_name="Member")
    UserProfile.objects.filter(user=member).update(timezone="America/New_York")
    left_for: list[str] = []

    with running_fake_stripe(settings) as stripe, sync_playwright() as playwright:
        # A journey, not a timeout test: give a loaded machine time to answer.
        settings.STRIPE_CONNECT_TIMEOUT_SECONDS = 10
        settings.STRIPE_READ_TIMEOUT_SECONDS = 30
        browser = launch(playwright)
        context = browser.new_context(user_agent=DESKTOP_CHROME, accept_downloads=True)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        problems = PageProblems(context, live_server.url)
        context.route("https://js.stripe.com/**", lambda route: route.abort())

        def calendly_page(route):
            left_for.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<title>Calendly</title><h1>Pick a time</h1>")

        context.route("https://calendly.com/**", calendly_page)
        page = context.new_page()

        # 1. She finds Dr. Hart, saves a card, accepts the policy and leaves for Calendly.
        page.goto(f"{live_server.url}/appointments/therapists/")
        page.get_by_role("link", name="Dr. Ada Hart, LMFT").click()
        expect(page.get_by_role("heading", name="Dr. Ada Hart, LMFT")).to_be_visible()
        page.get_by_role("link", name="Book a session with Dr. Ada Hart").click()
        page.get_by_role("link", name="Save a card").click()
        expect(page.get_by_text("The card form could not load.")).to_be_visible()
        return_url = page.locator("#card-form").get_attribute("data-return-url")
        # Stripe.js would confirm the SetupIntent and Stripe's webhook would save the card.
        billing_services.card_save(
            member=member, stripe_payment_method_id="pm_journey_4242", brand="visa", last4="4242"
        )
        page.goto(f"{return_url}?setup_intent=seti_journey&redirect_status=succeeded")
        page.get_by_label("I have read the cancellation and no-show policy above and I accept it.").check()
        page.get_by_role("button", name="Accept and continue").click()
        expect(page.get_by_text("Your estimate is ready")).to_be_visible()
        page.get_by_role("link", name="Choose a time with Dr. Ada Hart").click()
        expect(page.get_by_role("heading", name="Pick a time")).to_be_visible()
        [target] = left_for
        tracking = parse_qs(urlsplit(target).query)["utm_content"][0]
        assert booking_link_for_tracking(tracking).user == member

        # 2. Four bookings arrive from Calendly under her personal email, tied to her by the
        # tracking value. The first is beyond the card window: no hold yet.
        calendly = Calendly(live_server.url, host_uri=therapist.calendly_user_uri, tracking=tracking)
        now = timezone.now().replace(microsecond=0)
        uris = {name: _invitee_uri() for name in ("first", "second", "third", "third_moved", "fourth")}
        starts = {
            "first": now + timedelta(days=7),
            "second": now + timedelta(days=4),
            "third": now + timedelta(days=4, hours=12),
            "third_moved": now + timedelta(days=5),
            "fourth": now + timedelta(days=5, hours=12),
        }
        for name in ("first", "second", "third", "fourth"):
            calendly.created(uri=uris[name], starts_at=starts[name])
        booking = {
            name: AppointmentData.objects.get(calendly_invitee_uri=uris[name])
            for name in ("first", "second", "third", "fourth")
        }
        for appointment in booking.values():
            assert (appointment.user, appointment.therapist) == (member, therapist)
            assert appointment.invitee_email == PERSONAL_EMAIL
            assert appointment.policy_acceptance is not None
        first = booking["first"]
        assert not AppointmentPayment.objects.filter(appointment=first).exists()

        assert appointment_holds_sweep()["held"] == 0  # still too early for Stripe's window

        # Six days pass; the beat's holds sweep holds the first inside the card window, once.
        _time_passes(first, days=6)
        assert appointment_holds_sweep()["held"] == 1
        assert appointment_holds_sweep()["held"] == 0
        holds_asked = [c for c in stripe.creates("/v1/payment_intents") if c.path == "/v1/payment_intents"]
        assert [c.params["amount"] for c in holds_asked] == ["17500"] * 4

        # 3. She sees it in the portal: the join note, the calendar file and her estimate.
        page.goto(f"{live_server.url}/appointments/")
        expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
        page.locator(f'a[href="/appointments/{first.pk}/"]').click()
        expect(page.get_by_role("heading", name="Your session", exact=True)).to_be_visible()
        # Before her first video session she is asked for her telehealth consent, once.
        page.get_by_label("I agree to have my sessions by video.").check()
        page.get_by_role("button", name="Save my consent").click()
        expect(page.get_by_role("heading", name="Your session", exact=True)).to_be_visible()
        expect(page.get_by_text("The button to join by video appears here")).to_be_visible()
        expect(page.get_by_role("link", name="Good Faith Estimate (PDF)")).to_be_visible()
        estimate = page.get_by_role("link", name="Good Faith Estimate (PDF)").get_attribute("href")
        assert page.request.get(f"{live_server.url}{estimate}").body().startswith(b"%PDF")
        with page.expect_download() as download:
            page.get_by_role("link", name="Add to calendar").click()
        ics = Path(download.value.path()).read_text(encoding="utf-8")
        assert "BEGIN:VCALENDAR" in ics and f"UID:appointment-{first.pk}" in ics and ZOOM in ics
        assert "TZID:America/New_York" in ics

        # 4. Reminders at 48 h and 2 h (the sweep's clock moved forward), each once, with an .ics.
        mail.outbox.clear()
        assert appointment_reminders_send(now=first.starts_at - timedelta(hours=47)) == 1
        assert appointment_reminders_send(now=first.starts_at - timedelta(hours=46)) == 0
        assert appointment_reminders_send(now=first.starts_at - timedelta(minutes=90)) == 1
        assert appointment_reminders_send(now=first.starts_at - timedelta(minutes=80)) == 0
        reminders = [m for m in mail.outbox if any(a[0] == "bloom-session.ics" for a in m.attachments)]
        assert len(reminders) == 2 and all(m.to == [member.email] for m in reminders)
        for message in reminders:
            ((_name, content, mimetype),) = message.attachments
            assert mimetype == "text/calendar" and "TZID:America/New_York" in content
            assert ZOOM in message.body
        assert sorted(AppointmentReminderLog.objects.filter(appointment=first).values_list("kind", "channel")) == [
            ("2h", "email"),
            ("2h", "portal"),
            ("48h", "email"),
            ("48h", "portal"),
        ]

        # Both are in her portal notices too.
        page.goto(f"{live_server.url}/notifications/")
        expect(page.get_by_text("Your session with Dr. Ada Hart, LMFT starts")).to_have_count(2)

        # Her session's hour: the join button is there.
        _session_hour_comes(first, minutes_ago=0)
        page.goto(f"{live_server.url}/appointments/{first.pk}/")
        expect(page.get_by_role("link", name="Join the session")).to_have_attribute("href", ZOOM)
        assert problems.take() == []

        # 5. Dr. Hart opens her workspace, the session, and marks it attended: the hold is captured.
        staff = browser.new_context()
        staff_problems = PageProblems(staff, live_server.url)
        staff.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(clinician), "url": live_server.url}]
        )
        admin = staff.new_page()
        admin.goto(f"{live_server.url}/admin/")
        admin.get_by_role("link", name="Your sessions today and this week").click()
        expect(admin.get_by_role("heading", name="Your sessions")).to_be_visible()
        admin.locator(f'a[href="/admin/appointments/appointmentdata/{first.pk}/change/"]').click()
        admin.get_by_role("link", name="Mark attended").click()
        admin.get_by_role("button", name="Mark attended").click()
        expect(admin.get_by_text("Marked attended. 175.00 USD was taken.")).to_be_visible()
        assert len([c for c in stripe.calls if c.path.endswith("/capture")]) == 1

        # 6. The second: marked no-show in the admin, the fee waits, she confirms, one charge.
        second = booking["second"]
        _session_hour_comes(second, minutes_ago=70)
        admin.goto(f"{live_server.url}/admin/appointments/appointmentdata/{second.pk}/change/")
        admin.get_by_role("link", name="Mark no-show").click()
        admin.get_by_role("button", name="Mark no-show").click()
        expect(admin.get_by_text("Recorded. A fee of 90.00 USD awaits your confirmation below.")).to_be_visible()
        fee = AppointmentPayment.objects.get(appointment=second, kind="no_show_fee")
        assert fee.status == "pending" and not [c for c in stripe.calls if c.idempotency_key == fee.idempotency_key]
        admin.get_by_role("link", name="Confirm fee").click()
        admin.get_by_role("button", name="Charge 90.00 USD").click()
        expect(admin.get_by_text("90.00 USD was charged.")).to_be_visible()
        assert staff_problems.take() == []

        # 7. The third is moved, Calendly's events in the other order: the new booking first.
        third = booking["third"]
        calendly.created(uri=uris["third_moved"], starts_at=starts["third_moved"], old_invitee=uris["third"])
        calendly.canceled(uri=uris["third"], starts_at=starts["third"], by="invitee", new_invitee=uris["third_moved"])
        moved = AppointmentData.objects.get(calendly_invitee_uri=uris["third_moved"])
        third.refresh_from_db()
        assert (third.status, moved.status, moved.rescheduled_from_id) == ("rescheduled", "scheduled", third.pk)
        page.goto(f"{live_server.url}/appointments/{moved.pk}/")
        expect(page.get_by_role("heading", name="History")).to_be_visible()
        expect(page.get_by_text("Moved from")).to_have_count(1)

        # 8. The fourth is cancelled by Dr. Hart in Calendly: released at once, no fee.
        fourth = booking["fourth"]
        calendly.canceled(uri=uris["fourth"], starts_at=starts["fourth"], by="host")
        fourth.refresh_from_db()
        assert (fourth.status, fourth.cancelled_by) == ("cancelled", "host")

        # The member pages of the journey: nothing serious for axe-core (its script needs the CSP off).
        assert problems.take() == []
        audit = browser.new_context(user_agent=DESKTOP_CHROME, bypass_csp=True)
        audit.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(member), "url": live_server.url}]
        )
        audit_page = audit.new_page()
        findings = {}
        for path in (
            "/appointments/therapists/",
            f"/appointments/therapists/{therapist.pk}/",
            f"/appointments/therapists/{therapist.pk}/book/",
            "/appointments/",
            f"/appointments/{first.pk}/",
            f"/appointments/{moved.pk}/",
            "/notifications/",
        ):
            audit_page.goto(f"{live_server.url}{path}")
            findings[path] = axe_findings(audit_page)
        assert all(found == [] for found in findings.values()), findings
        browser.close()

    # Every money step: one appointment_payments row per key, one Stripe request per key.
    def rows(appointment):
        return list(
            AppointmentPayment.objects.filter(appointment=appointment)
            .order_by("created_at")
            .values_list("kind", "status")
        )

    assert rows(first) == [("session_fee", "captured")]
    assert rows(second) == [("session_fee", "released"), ("no_show_fee", "captured")]
    assert rows(third) == [("session_fee", "released")]
    assert rows(moved) == [("session_fee", "authorized")]
    assert rows(fourth) == [("session_fee", "released")]
    keys = list(AppointmentPayment.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 6

    creates = [c for c in stripe.creates("/v1/payment_intents") if c.path == "/v1/payment_intents"]
    assert sorted(c.idempotency_key for c in creates) == sorted(keys)
    assert sorted(c.params.get("capture_method", "automatic") for c in creates) == ["automatic"] + ["manual"] * 5
    [fee_charge] = [c for c in creates if c.params.get("capture_method", "automatic") == "automatic"]
    assert fee_charge.idempotency_key == fee.idempotency_key and fee_charge.params["amount"] == "9000"
    assert fee_charge.params.get("off_session") == "true"
    row_pi = dict(AppointmentPayment.objects.values_list("idempotency_key", "payment__stripe_payment_intent_id"))
    captures = [c.path for c in stripe.creates("/v1/payment_intents/") if c.path.endswith("/capture")]
    cancels = sorted(c.path for c in stripe.creates("/v1/payment_intents/") if c.path.endswith("/cancel"))
    hold_of = {
        a.pk: row_pi[AppointmentPayment.objects.get(appointment=a, kind="session_fee").idempotency_key]
        for a in (first, second, third, fourth)
    }
    assert captures == [f"/v1/payment_intents/{hold_of[first.pk]}/capture"]
    assert cancels == sorted(f"/v1/payment_intents/{hold_of[a.pk]}/cancel" for a in (second, third, fourth))
    assert all(c.fault is None for c in stripe.calls)

    # Each of Dr. Hart's decisions is in the audit log, under her login.
    logged = {
        (entry.object_id, change)
        for entry in AdminActivityLog.objects.filter(admin_user__user=clinician, action="change")
        for change in ("Mark attended", "Mark no-show", "Confirmed the no-show fee")
        if change in str(entry.changes)
    }
    assert logged == {
        (str(first.pk), "Mark attended"),
        (str(second.pk), "Mark no-show"),
        (str(second.pk), "Confirmed the no-show fee"),
    }
