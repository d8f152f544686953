"""Exactly-once application under duplicates, reordering, forged deliveries and failing handlers."""

import json
import random
import time
from collections import Counter
from decimal import Decimal

import pytest

from accounts.models import SecurityEvent
from billing.models import PaymentStatus, RefundRequest, RefundStatus, StripeWebhookEvent
from tests.billing import stripe_fakes as sf
from tests.billing.conftest import Fulfilment
from tests.factories.billing import PaymentIntentFactory

pytestmark = pytest.mark.django_db


def _lifecycle(payment, *, full_refund: bool, t0: int) -> list[dict]:
    """Four events Stripe sends for one checkout payment that is later (partly) refunded."""
    pi = payment.stripe_payment_intent_id
    refund = sf.refund_obj(payment, amount=payment.amount_cents if full_refund else 3000)
    return [
        sf.event(
            "payment_intent.created",
            sf.payment_intent_obj(payment, status="requires_payment_method", pi_id=pi),
            created=t0,
        ),
        sf.event("checkout.session.completed", sf.checkout_session_obj(payment, pi_id=pi), created=t0 + 60),
        sf.event(
            "payment_intent.succeeded", sf.payment_intent_obj(payment, status="succeeded", pi_id=pi), created=t0 + 60
        ),
        sf.event(
            "charge.refunded",
            sf.charge_obj(payment, amount_refunded=refund["amount"], refunds=[refund]),
            created=t0 + 600,
        ),
    ]


def test_storm_of_500_events_applies_each_exactly_once(deliver, purchases, settings):
    rng = random.Random(20261124)
    t0 = int(time.time()) - 3600
    payments = [
        PaymentIntentFactory(stripe_payment_intent_id=f"pi_storm_{i}", stripe_charge_id=f"ch_storm_{i}")
        for i in range(125)
    ]
    events = []
    for i, payment in enumerate(payments):
        events.extend(_lifecycle(payment, full_refund=i % 2 == 0, t0=t0 + i))
    assert len(events) == 500

    deliveries = [(event, True) for event in events]
    for event in rng.sample(events, 125):  # a quarter arrive two or three times
        deliveries.extend([(event, True)] * rng.choice([1, 2]))
    forged = []
    for event in rng.sample(events, 25):  # 5% with bad signatures: tampered copies and forgeries
        tampered = json.loads(json.dumps(event))
        tampered["data"]["object"]["amount_refunded"] = 10000
        tampered["id"] = f"{event['id']}_forged"
        forged.append(tampered)
        deliveries.append((tampered, False))
    rng.shuffle(deliveries)

    statuses = Counter()
    for event, valid in deliveries:
        response = deliver(event, secret=None if valid else "whsec_attacker")
        statuses[(valid, response.status_code)] += 1

    assert statuses == {(True, 200): len(deliveries) - 25, (False, 400): 25}
    assert StripeWebhookEvent.objects.count() == 500
    assert not StripeWebhookEvent.objects.filter(stripe_event_id__in=[f["id"] for f in forged]).exists()
    assert set(StripeWebhookEvent.objects.values_list("processed", "attempts", "error_message")) == {(True, 1, None)}
    assert SecurityEvent.objects.filter(event_type="stripe_webhook_rejected").count() == 25

    paid = Counter(Fulfilment.objects.filter(action="paid").values_list("payment_id", flat=True))
    assert paid == {p.pk: 1 for p in payments}
    for i, payment in enumerate(payments):
        payment.refresh_from_db()
        refunds = list(
            Fulfilment.objects.filter(payment_id=payment.pk, action="refunded").values_list("amount", "fully")
        )
        if i % 2 == 0:
            assert payment.status == PaymentStatus.REFUNDED
            assert payment.amount_refunded == Decimal("100.00")
            assert refunds == [(Decimal("100.00"), True)]
        else:
            assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
            assert payment.amount_refunded == Decimal("30.00")
            assert refunds == [(Decimal("30.00"), False)]
        assert RefundRequest.objects.filter(payment=payment, status=RefundStatus.REFUNDED).count() == 1


@pytest.mark.parametrize("seed", range(12))
def test_out_of_order_events_converge(deliver, purchases, seed):
    payment = PaymentIntentFactory(stripe_payment_intent_id=f"pi_order_{seed}", stripe_charge_id=f"ch_order_{seed}")
    t = int(time.time()) - 1000
    pi = payment.stripe_payment_intent_id
    first = sf.refund_obj(payment, amount=3000, refund_id=f"re_a_{seed}")
    second = sf.refund_obj(payment, amount=7000, refund_id=f"re_b_{seed}")
    events = [
        sf.event(
            "payment_intent.created",
            sf.payment_intent_obj(payment, status="requires_payment_method", pi_id=pi),
            created=t,
        ),
        sf.event(
            "payment_intent.processing", sf.payment_intent_obj(payment, status="processing", pi_id=pi), created=t + 1
        ),
        sf.event("checkout.session.completed", sf.checkout_session_obj(payment, pi_id=pi), created=t + 2),
        sf.event(
            "payment_intent.succeeded", sf.payment_intent_obj(payment, status="succeeded", pi_id=pi), created=t + 2
        ),
        sf.event("charge.refunded", sf.charge_obj(payment, amount_refunded=3000, refunds=[first]), created=t + 100),
        sf.event("refund.updated", first, created=t + 101),
        sf.event(
            "charge.refunded", sf.charge_obj(payment, amount_refunded=10000, refunds=[second, first]), created=t + 200
        ),
        sf.event("refund.updated", second, created=t + 201),
        sf.event("charge.dispute.created", sf.dispute_obj(payment), created=t + 300),
    ]
    random.Random(seed).shuffle(events)
    for event in events:
        deliver(event)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.amount_refunded == Decimal("100.00")
    assert payment.disputed is True
    assert purchases.paid == [payment.pk]
    refunds = purchases.refunded
    assert sum(amount for _pk, amount, _fully in refunds) == Decimal("100.00")
    assert [fully for _pk, _amount, fully in refunds].count(True) == 1
    assert sorted(RefundRequest.objects.filter(payment=payment).values_list("stripe_refund_id", "status")) == [
        (f"re_a_{seed}", RefundStatus.REFUNDED),
        (f"re_b_{seed}", RefundStatus.REFUNDED),
    ]


def test_failing_handler_is_retried_and_applies_once(deliver, purchases):
    payment = PaymentIntentFactory()
    purchases.fail_next_paid = 1
    event = sf.event("checkout.session.completed", sf.checkout_session_obj(payment))

    deliver(event)

    row = StripeWebhookEvent.objects.get(stripe_event_id=event["id"])
    assert (row.processed, row.attempts, row.error_message, row.outcome) == (True, 2, None, "paid")
    assert purchases.paid == [payment.pk]  # the failed attempt's write was rolled back
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_handler_failing_every_time_keeps_the_error_and_changes_nothing(deliver, purchases):
    payment = PaymentIntentFactory()
    purchases.fail_next_paid = 100
    event = sf.event("checkout.session.completed", sf.checkout_session_obj(payment))

    assert deliver(event).status_code == 200

    row = StripeWebhookEvent.objects.get(stripe_event_id=event["id"])
    assert row.processed is False
    assert row.attempts == 8
    assert "fulfilment failed" in row.error_message
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    assert purchases.paid == []


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wake_spy(monkeypatch, settings):
    """billing.webhooks with a fake clock, Redis flag calls counted and drain messages recorded."""
    from django.core.cache import cache

    from billing import tasks, webhooks

    clock = _Clock()
    monkeypatch.setattr(webhooks.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(webhooks, "_flag_seen_at", None)
    cache.delete(webhooks.DRAIN_FLAG)
    asked, queued = [], []
    real_add = cache.add

    def add(*args, **kwargs):
        asked.append(clock.now)
        return real_add(*args, **kwargs)

    monkeypatch.setattr(webhooks.cache, "add", add)
    monkeypatch.setattr(tasks.stripe_events_drain_task, "delay", lambda: queued.append(clock.now))
    settings.BILLING_DRAIN_LINGER_SECONDS = 0.5
    yield clock, asked, queued
    cache.delete(webhooks.DRAIN_FLAG)


def test_wake_asks_redis_at_most_every_half_linger_and_queues_one_drain(wake_spy):
    from billing import webhooks

    clock, asked, queued = wake_spy
    webhooks.drain_wake()  # sets the flag and queues the drain
    clock.now += 0.1
    webhooks.drain_wake()  # inside linger/2 of seeing the flag: no Redis call
    clock.now += 0.1
    webhooks.drain_wake()
    clock.now += 0.1  # 0.3 s after the flag was seen: ask again (still set: nothing queued)
    webhooks.drain_wake()
    webhooks.drain_wake(force=True)  # the drain waking a successor always asks

    assert asked == pytest.approx([1000.0, 1000.3, 1000.3])
    assert queued == [1000.0]


def test_without_linger_every_wake_asks_redis(wake_spy, settings):
    from billing import webhooks

    clock, asked, queued = wake_spy
    settings.BILLING_DRAIN_LINGER_SECONDS = 0
    webhooks.drain_wake()
    webhooks.drain_wake()
    assert len(asked) == 2 and len(queued) == 1


def test_drain_lingers_and_applies_an_event_stored_while_it_waits(wake_spy, monkeypatch, purchases):
    """An event whose delivery skipped the wake (stored within linger/2 of the flag being seen)
    is still applied by the drain, which polls for at least `linger` after clearing the flag."""
    from billing import webhooks

    clock, _asked, _queued = wake_spy
    early = PaymentIntentFactory()
    late = PaymentIntentFactory()
    webhooks.PROVIDER.store_payload(sf.event("checkout.session.completed", sf.checkout_session_obj(early)))
    sleeps = []

    def sleep(seconds):
        sleeps.append(clock.now)
        clock.sleep(seconds)
        if len(sleeps) == 4:  # 0.2 s into the linger another delivery stores an event
            webhooks.PROVIDER.store_payload(sf.event("checkout.session.completed", sf.checkout_session_obj(late)))

    monkeypatch.setattr(webhooks.time, "sleep", sleep)
    handled = webhooks.stripe_events_drain()

    assert handled == 2
    assert sorted(purchases.paid) == sorted([early.pk, late.pk])
    assert clock.now - 1000.0 >= 0.5  # it returned only after lingering the full half second
    assert StripeWebhookEvent.objects.filter(processed=True).count() == 2
