"""Appointments benchmark: Calendly webhook ingest and processing, reminders, the member's session list.

Every figure is a median over many runs, reported as a ratio to a baseline timed in the
same process and run, alternating with it (baseline, measured, measured, baseline, ...)
so that load on the machine weighs on both alike:

- webhook ingest (signature check, dedupe, store, enqueue after commit; the Celery publish
  is stubbed) vs a bare view on the same middleware that only verifies the signature and
  inserts the event row;
- event processing (invitee.created -> booking, exactly once) vs a bare ORM insert of an
  equivalent appointment_data row;
- one reminder (portal notice + clinical email through the outbox) vs rendering the same
  reminder templates with render_to_string and bare inserts of the notice and outbox rows;
- the member's session list page vs a minimal view through the same middleware and client.

Creates and drops its own scratch database named after DATABASE_URL's (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_appointments.py
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, timedelta

from support import (
    alternating,
    baseline_line,
    calendly_signature,
    minimal,
    page_target,
    print_sections,
    ratio_line,
    scratch_database,
    setup_environment,
)

# isort: split
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection, transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from appointments.models import CalendlyWebhookEvent
from bloom.webhooks import verify_timestamped_hmac

DELIVERIES = 300
REMINDERS = 200
PAGE_REQUESTS = 60
FEW = 3
WARMUP = 5
BARE_EVENT_TYPE = "bench.bare"
HOST = "https://api.calendly.com/users/BENCH"
# Issue 18 point 5: processing an event within 2x a bare insert of the row it makes; a
# reminder within 2x rendering its templates and inserting its two rows.
PROCESSING_TARGET = 2.0
REMINDER_TARGET = 2.0


@csrf_exempt
@login_not_required
def bare_calendly(request):
    """The floor of a webhook endpoint: verify the signature, insert the row, answer 200."""
    raw = request.body
    parts = dict(part.strip().partition("=")[::2] for part in request.headers["Calendly-Webhook-Signature"].split(","))
    verify_timestamped_hmac(
        secret=settings.CALENDLY_WEBHOOK_SIGNING_KEY,
        timestamp=parts["t"],
        signed_payload=parts["t"].encode() + b"." + raw,
        signatures=[parts["v1"]],
        tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
    )
    CalendlyWebhookEvent.objects.create(
        event_uuid=uuid.uuid4().hex, event_type=BARE_EVENT_TYPE, event_data=json.loads(raw)
    )
    return HttpResponse("ok")


# This module is also the URLconf: the project's URLs plus the baseline views.
urlpatterns = [
    path("bench/minimal/", minimal),
    path("bench/bare-calendly/", bare_calendly),
    path("", include("bloom.urls")),
]


def _iso(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(email: str) -> bytes:
    now = timezone.now()
    event = f"https://api.calendly.com/scheduled_events/{uuid.uuid4().hex}"
    start = now + timedelta(days=3)
    return json.dumps(
        {
            "event": "invitee.created",
            "created_at": _iso(now),
            "payload": {
                "uri": f"{event}/invitees/{uuid.uuid4().hex}",
                "email": email,
                "name": "Bench Member",
                "timezone": "America/New_York",
                "scheduled_event": {
                    "uri": event,
                    "start_time": _iso(start),
                    "end_time": _iso(start + timedelta(minutes=50)),
                    "location": {"type": "zoom", "join_url": "https://zoom.us/j/1"},
                    "event_memberships": [{"user": HOST}],
                },
            },
        }
    ).encode()


def bench_webhooks(member, other) -> list[str]:
    from appointments import tasks
    from appointments.models import AppointmentData, AppointmentStatus, TherapistProfile
    from appointments.webhooks import PROVIDER as calendly

    tasks.calendly_event_process_task.delay = lambda event_id: None  # the broker publish is left out
    therapist = TherapistProfile.objects.create(display_name="Bench Therapist", calendly_user_uri=HOST)
    client = Client()

    def post(url: str):
        bodies = [_body(member.email) for _ in range(DELIVERIES)]

        def send(i: int) -> None:
            raw = bodies[i]
            headers = {"Calendly-Webhook-Signature": calendly_signature(raw)}
            response = client.post(url, data=raw, content_type="application/json", headers=headers)
            assert response.status_code == 200, (url, response.status_code)

        return send

    bare_view = post("/bench/bare-calendly/")
    for i in range(WARMUP):
        bare_view(i)
    bare, ingest, _ = alternating(bare_view, post("/webhooks/calendly/"), DELIVERIES)
    CalendlyWebhookEvent.objects.filter(event_type=BARE_EVENT_TYPE).delete()
    ids = [str(pk) for pk in CalendlyWebhookEvent.objects.order_by("created_at").values_list("pk", flat=True)]
    assert len(ids) == DELIVERIES

    start = timezone.now() + timedelta(days=3)

    def bare_insert(i: int) -> None:
        with transaction.atomic():
            AppointmentData.objects.create(
                user=other,
                therapist=therapist,
                invitee_email=other.email,
                invitee_name="Bench Member",
                calendly_event_uri=f"https://api.calendly.com/scheduled_events/bare{i}",
                calendly_invitee_uri=f"https://api.calendly.com/scheduled_events/bare{i}/invitees/{i}",
                calendly_synced_at=timezone.now(),
                starts_at=start,
                ends_at=start + timedelta(minutes=50),
                timezone="America/New_York",
                status=AppointmentStatus.SCHEDULED,
                location="zoom",
                zoom_meeting_url="https://zoom.us/j/1",
            )

    def process(i: int) -> None:
        assert calendly.process(ids[i]) == "created"

    insert, processing, total = alternating(bare_insert, process, DELIVERIES)
    assert AppointmentData.objects.filter(user=member).count() == DELIVERIES
    return [
        baseline_line("bare webhook view (verify signature, insert event row)", bare),
        ratio_line(f"Calendly webhook ingest ({DELIVERIES} deliveries)", ingest, ingest / bare, "bare webhook view"),
        baseline_line("bare insert of an equivalent appointment_data row", insert),
        ratio_line(
            "event processing, invitee.created -> booking",
            processing,
            processing / insert,
            "bare insert",
            f" ({DELIVERIES / total:.0f} events/s)",
            target=PROCESSING_TARGET,
        ),
    ]


def bench_reminders() -> list[str]:
    from accounts.models import User
    from accounts.services import member_records_ensure
    from appointments import reminders
    from appointments.models import AppointmentData, TherapistProfile
    from notifications.models import EmailQueue, UserNotification

    therapist = TherapistProfile.objects.get(calendly_user_uri=HOST)
    now = timezone.now()
    users = [User.objects.create_user(f"reminded{n}@bench.example", password="x" * 12) for n in range(REMINDERS + 1)]
    for user in users:
        member_records_ensure(user=user)
    floor_member = users.pop()
    for user in users:
        AppointmentData.objects.create(
            user=user,
            therapist=therapist,
            starts_at=now + timedelta(hours=20),
            ends_at=now + timedelta(hours=21),
            zoom_meeting_url="https://zoom.us/j/1",
        )
    # At BENCH_SCALE the seeded practice has sessions due too: the bench reminds its own members.
    mine = {user.pk for user in users}
    due = [a for a in reminders.appointment_reminders_due(kind="48h", now=now) if a.user_id in mine]
    assert len(due) == REMINDERS, len(due)
    context = {
        "title": "Your session tomorrow",
        "message": "Your session with Bench Therapist starts Wednesday 25 November at 4:00 PM (PST).",
        "notification_type": "appointment_reminder",
        "therapist_name": "Bench Therapist",
        "starts_at_local": "Wednesday 25 November 2026 at 4:00 PM (PST)",
        "zoom_meeting_url": "https://zoom.us/j/1",
        "location": "",
        "appointments_url": "https://bloom.example/appointments/",
        "kind": "48h",
        "site_url": settings.SITE_URL,
        "site_name": "Bloom Psychology",
        "recipient_email": floor_member.email,
    }

    def floor(i: int) -> None:
        with transaction.atomic():
            subject = render_to_string("emails/appointments/reminder.subject.txt", context)
            text = render_to_string("emails/appointments/reminder.txt", context)
            html = render_to_string("emails/appointments/reminder.html", context)
            UserNotification.objects.create(
                user=floor_member, type="appointment_reminder", title=context["title"], message=context["message"]
            )
            EmailQueue.objects.create(
                to_email=floor_member.email,
                user=floor_member,
                subject=subject.strip(),
                text_body=text,
                html_body=html,
                template_key="appointments/reminder",
                context=context,
                category="clinical",
            )

    def send(i: int) -> None:
        assert reminders.appointment_reminder_send(appointment=due[i], kind="48h")

    base, reminder, total = alternating(floor, send, REMINDERS)
    # Her reminder once each, counted among her own rows only: at BENCH_SCALE the seeded outbox
    # holds reminders too, and the seeded practice's due sessions would be reminded by a beat run.
    assert EmailQueue.objects.filter(template_key="appointments/reminder", user_id__in=mine).count() == REMINDERS
    assert not any(reminders.appointment_reminder_send(appointment=appointment, kind="48h") for appointment in due)
    return [
        baseline_line("render_to_string of the reminder templates + 2 inserts", base),
        ratio_line(
            "reminder (portal notice + clinical email in the outbox)",
            reminder,
            reminder / base,
            "render+insert",
            f" ({REMINDERS / total:.0f} reminders/s)",
            target=REMINDER_TARGET,
        ),
    ]


def _queries(client: Client, url: str) -> int:
    """How many SQL statements one request to `url` runs."""
    seen = []
    with connection.execute_wrapper(lambda execute, sql, *args: seen.append(sql) or execute(sql, *args)):
        assert client.get(url).status_code == 200, url
    return len(seen)


def bench_list_page(member) -> list[str]:
    """The list with a typical handful of sessions, and with every booking from the webhooks."""
    from accounts.models import User
    from accounts.services import member_records_ensure, policies_agree
    from appointments.models import AppointmentData, TherapistProfile

    few = User.objects.create_user("bench-few@bench.example", password="x" * 12)
    therapist = TherapistProfile.objects.get(calendly_user_uri=HOST)
    start = timezone.now() + timedelta(days=2)
    for when in (start + timedelta(days=7 * n) for n in range(FEW)):
        AppointmentData.objects.create(user=few, therapist=therapist, starts_at=when, ends_at=when + timedelta(hours=1))
    lines = []
    for who, upcoming in ((few, FEW), (member, DELIVERIES)):
        member_records_ensure(user=who)
        policies_agree(member=who, source="bench")  # else the portal asks her to agree first
        client = Client()
        client.force_login(who)
        for _ in range(WARMUP):
            assert client.get("/appointments/").status_code == 200
            assert client.get("/bench/minimal/").status_code == 200
        queries = _queries(client, "/appointments/")

        def get(url: str, client=client):
            def fetch(i: int) -> None:
                assert client.get(url).status_code == 200, url

            return fetch

        base, page, _ = alternating(get("/bench/minimal/"), get("/appointments/"), PAGE_REQUESTS)
        lines += [
            baseline_line("minimal view, same middleware and client, logged in", base),
            ratio_line(
                f"session list page ({upcoming} upcoming, {queries} queries)",
                page,
                page / base,
                "minimal view",
                target=page_target(),
            ),
        ]
    return lines


def main() -> None:
    from accounts.models import User

    setup_environment(__name__)
    with scratch_database("appointments"):
        print(
            "Appointments bench: Calendly webhook ingest and processing, reminders, the session list page. Medians, "
            "each as a ratio to the baseline above it, timed alternately in this process (synchronous_commit=off)."
        )
        member = User.objects.create_user("bench-member@bench.example", password="x" * 12)
        other = User.objects.create_user("bench-baseline@bench.example", password="x" * 12)
        print_sections(lambda: bench_webhooks(member, other), bench_reminders, lambda: bench_list_page(member))


if __name__ == "__main__":
    main()
