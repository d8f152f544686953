"""Booking benchmark: a signed Calendly invitee.created -> appointment -> hold on the card.

Medians, each as a ratio to a baseline timed in the same process and run, alternating with it
(baseline, measured, measured, baseline, ...):

- the booking flow (signed delivery through the webhook view, the event processed, the
  member tied by her tracking value, the accepted policy linked, the session fee authorised
  at a local fake Stripe through billing, appointment_payments written) vs its floor: a bare
  ORM insert of an equivalent appointment row and one direct PaymentIntent create at the
  same fake Stripe;
- the flow's SQL statement count when 1 and when 200 appointments already exist: they must
  be equal (nothing in the flow scans a member's or a therapist's bookings).

Creates and drops its own scratch database named after DATABASE_URL's (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_booking.py
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, timedelta
from decimal import Decimal

from support import (
    alternating,
    baseline_line,
    calendly_signature,
    print_sections,
    ratio_line,
    scratch_database,
    setup_environment,
)

# isort: split
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import include, path
from django.utils import timezone

from tests.billing.stripe_fakes import FakeStripeServer

ROUNDS = 120
WARMUP = 5
GROWN = 200
HOST = "https://api.calendly.com/users/BENCH-BOOKING"

urlpatterns = [path("", include("bloom.urls"))]


def _iso(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(*, email: str, tracking: str, days: float) -> bytes:
    now = timezone.now()
    event = f"https://api.calendly.com/scheduled_events/{uuid.uuid4().hex}"
    start = (now + timedelta(days=days)).replace(microsecond=0)
    return json.dumps(
        {
            "event": "invitee.created",
            "created_at": _iso(now),
            "payload": {
                "uri": f"{event}/invitees/{uuid.uuid4().hex}",
                "email": email,
                "name": "Bench Member",
                "timezone": "America/New_York",
                "cancel_url": "https://calendly.com/cancellations/BENCH",
                "reschedule_url": "https://calendly.com/reschedulings/BENCH",
                "tracking": {"utm_content": tracking},
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


def bench_booking(fake) -> list[str]:
    from accounts.models import User
    from appointments import tasks
    from appointments.models import AppointmentData, AppointmentPayment, BookingPolicyAcceptance, TherapistProfile
    from appointments.tracking import booking_tracking_value
    from appointments.webhooks import PROVIDER as calendly
    from billing import stripe_client
    from billing.models import BillingCustomer, UserPaymentMethod

    settings.STRIPE_API_BASE = fake.url
    # The broker publishes are left out: the flow runs its event and its hold step inline.
    tasks.calendly_event_process_task.delay = lambda event_id: None
    tasks.appointment_money_step_task.delay = lambda step, pk, other=None: tasks.appointment_money_step_task(
        step, pk, other
    )
    therapist = TherapistProfile.objects.create(
        display_name="Bench Therapist", calendly_user_uri=HOST, session_fee=Decimal("150.00")
    )
    members = []
    for n in range(ROUNDS + WARMUP + 2):
        member = User.objects.create_user(f"booker{n}@bench.example", password="x" * 12)
        BillingCustomer.objects.create(user=member, stripe_customer_id=f"cus_bench{n}")
        UserPaymentMethod.objects.create(user=member, stripe_payment_method_id=f"pm_bench{n}", is_default=True)
        BookingPolicyAcceptance.objects.create(
            user=member, therapist=therapist, policy_version="bench", window_hours=24, session_fee=Decimal("150.00")
        )
        members.append((member, booking_tracking_value(member=member, therapist=therapist)))
    client = Client()

    def book(member, tracking) -> None:
        raw = _body(email=f"typed-{uuid.uuid4().hex[:6]}@elsewhere.example", tracking=tracking, days=2)
        response = client.post(
            "/webhooks/calendly/",
            data=raw,
            content_type="application/json",
            headers={"Calendly-Webhook-Signature": calendly_signature(raw)},
        )
        assert response.status_code == 200, response.status_code
        event_id = str(calendly.model.objects.order_by("-created_at").values_list("pk", flat=True).first())
        assert calendly.process(event_id) == "created"

    def flow(i: int) -> None:
        member, tracking = members[i]
        book(member, tracking)
        assert AppointmentPayment.objects.filter(user=member, status="authorized").count() == 1

    floor_member = members[-1][0]
    start = timezone.now() + timedelta(days=2)

    def floor(i: int) -> None:
        AppointmentData.objects.create(
            user=floor_member,
            therapist=therapist,
            invitee_email=floor_member.email,
            calendly_invitee_uri=f"https://api.calendly.com/scheduled_events/floor/invitees/{uuid.uuid4().hex}",
            starts_at=start,
            ends_at=start + timedelta(minutes=50),
        )
        stripe_client.payment_intent_create(
            idempotency_key=f"bench-floor-{uuid.uuid4().hex}",
            amount_cents=15000,
            currency="usd",
            customer_id="cus_floor",
            payment_method_id="pm_floor",
            capture_method="manual",
            description="floor",
            metadata={},
        )

    # No outer transaction here: the hold step queued on the event's commit runs right after it.
    for i in range(WARMUP):
        floor(i)
        flow(i)
    base, measured, total = alternating(floor, lambda i: flow(i + WARMUP), ROUNDS)
    return [
        baseline_line("bare appointment insert + one PaymentIntent create", base),
        ratio_line(
            "signed webhook -> appointment -> hold (billing, fake Stripe)",
            measured,
            measured / base,
            "bare insert + create",
            f" ({ROUNDS / total:.0f} bookings/s)",
        ),
        *bench_growth(book, members[-2], therapist),
    ]


def bench_growth(book, booker, therapist) -> list[str]:
    """Query counts of one booking with 1 and with GROWN appointments of the same member and therapist."""
    from appointments.models import AppointmentData

    member, tracking = booker
    counts = []
    for existing in (1, GROWN):
        have = AppointmentData.objects.filter(user=member).count()
        start = timezone.now() - timedelta(days=30)
        AppointmentData.objects.bulk_create(
            AppointmentData(
                user=member,
                therapist=therapist,
                calendly_invitee_uri=f"https://api.calendly.com/scheduled_events/grown/invitees/{existing}-{n}",
                starts_at=start - timedelta(days=n),
                ends_at=start - timedelta(days=n) + timedelta(minutes=50),
            )
            for n in range(max(existing - have, 0))
        )
        counts.append(_queries(lambda: book(member, tracking)))
    if counts[0] != counts[1]:
        raise SystemExit(f"query count grows with the data: {counts[0]} at 1, {counts[1]} at {GROWN}")
    return [f"{'queries per booking, 1 vs ' + str(GROWN) + ' existing appointments':<64} {counts[0]} = {counts[1]}"]


def _queries(fn) -> int:
    seen = []
    with connection.execute_wrapper(lambda execute, sql, *args: seen.append(sql) or execute(sql, *args)):
        fn()
    return len(seen)


def main() -> None:
    setup_environment(__name__)
    with scratch_database("booking"), FakeStripeServer() as fake:
        print(
            "Booking bench: signed Calendly webhook -> appointment -> hold. Medians, each as a ratio to the "
            "baseline above it, timed alternately in this process (synchronous_commit=off)."
        )
        print_sections(lambda: bench_booking(fake))


if __name__ == "__main__":
    main()
