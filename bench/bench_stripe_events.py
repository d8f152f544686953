"""Stripe event processing: a stored payment_intent.succeeded applied, against a bare insert.

Medians, as a ratio to a baseline timed in the same process and run, alternating with it
(baseline, measured, measured, baseline, ...):

- processing one stored `payment_intent.succeeded` (`billing.webhooks.PROVIDER.process`: the
  event row locked, the payment found by its metadata and locked, marked paid, its open checks
  settled, the kind's on_paid called, the outcome recorded) vs a bare ORM insert of an
  equivalent paid payment_intents row in a transaction.

The purchase kind's on_paid does nothing here: what an app does when paid is that app's cost,
not the webhook's. The HTTP side (ingest, p99 against a floor) is bench/bench_webhooks.py.
Target (issue 18 point 5): within 2x the bare insert. Creates and drops its own scratch
database named after DATABASE_URL's (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_stripe_events.py
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from support import alternating, baseline_line, print_sections, ratio_line, scratch_database, setup_environment

# isort: split
from django.db import transaction
from django.urls import include, path
from django.utils import timezone

EVENTS = 300
WARMUP = 5
KIND = "bench_purchase"
PROCESSING_TARGET = 2.0

urlpatterns = [path("", include("bloom.urls"))]


def _event(payment_id: str) -> dict:
    pi_id = f"pi_bench_{uuid.uuid4().hex[:20]}"
    return {
        "id": f"evt_bench_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": pi_id,
                "object": "payment_intent",
                "amount": 12000,
                "amount_received": 12000,
                "currency": "usd",
                "latest_charge": f"ch_bench_{uuid.uuid4().hex[:20]}",
                "metadata": {"bloom_payment_id": payment_id, "bloom_kind": KIND, "bloom_object_id": "b"},
                "status": "succeeded",
            }
        },
    }


def bench_processing() -> list[str]:
    from accounts.models import User
    from billing.models import PaymentIntent, PaymentStatus
    from billing.registry import register_purchase_kind
    from billing.webhooks import PROVIDER as stripe

    register_purchase_kind(KIND, on_paid=lambda *, payment: None)
    member = User.objects.create_user("bench-stripe@bench.example", password=None)
    payments = PaymentIntent.objects.bulk_create(
        PaymentIntent(user=member, kind=KIND, object_id=str(i), description="Bench purchase", amount=Decimal("120.00"))
        for i in range(EVENTS + WARMUP)
    )
    ids = []
    for payment in payments:
        with transaction.atomic():
            ids.append(stripe.store_payload(_event(str(payment.pk))))

    def bare_insert(i: int) -> None:
        now = timezone.now()
        with transaction.atomic():
            PaymentIntent.objects.create(
                user=member,
                kind=KIND,
                object_id=f"bare{i}",
                description="Bench purchase",
                amount=Decimal("120.00"),
                status=PaymentStatus.SUCCEEDED,
                stripe_payment_intent_id=f"pi_bare_{i}",
                stripe_charge_id=f"ch_bare_{i}",
                paid_at=now,
                status_changed_at=now,
            )

    def process(i: int) -> None:
        assert stripe.process(ids[WARMUP + i]) == "paid"

    for i in range(WARMUP):
        assert stripe.process(ids[i]) == "paid"
    insert, processing, total = alternating(bare_insert, process, EVENTS)
    paid = PaymentIntent.objects.filter(kind=KIND, status=PaymentStatus.SUCCEEDED).exclude(object_id__startswith="bare")
    assert paid.count() == EVENTS + WARMUP
    return [
        baseline_line("bare insert of an equivalent paid payment_intents row", insert),
        ratio_line(
            "Stripe event processing, payment_intent.succeeded -> paid",
            processing,
            processing / insert,
            "bare insert",
            f" ({EVENTS / total:.0f} events/s)",
            target=PROCESSING_TARGET,
        ),
    ]


def main() -> None:
    setup_environment(__name__)
    with scratch_database("stripe_events"):
        print(
            "Stripe event processing bench: medians, as a ratio to the baseline above, timed alternately in this "
            "process (synchronous_commit=off)."
        )
        print_sections(bench_processing)


if __name__ == "__main__":
    main()
