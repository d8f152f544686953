"""Reprocessing, the sweeper, reconciliation with Stripe's event list, orphans, dj-stripe mirroring, the worker."""

import io
import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing import webhooks
from billing.models import PaymentIntent, PaymentStatus, StripeWebhookEvent
from billing.orphans import CHECKS
from bloom.tasks import webhooks_sweep_task
from tests.billing import stripe_fakes as sf
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory, StripeWebhookEventFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def _store(event, **fields) -> StripeWebhookEvent:
    return StripeWebhookEvent.objects.create(
        stripe_event_id=event["id"], event_type=event["type"], event_data=event, **fields
    )


def test_reprocess_command_reruns_failed_events(purchases, eager_celery, django_capture_on_commit_callbacks):
    payment = PaymentIntentFactory()
    failed = _store(
        sf.event("checkout.session.completed", sf.checkout_session_obj(payment)), attempts=8, error_message="boom"
    )
    done = _store(sf.event("customer.created", {"id": "cus_1", "object": "customer"}), processed=True, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("webhooks_reprocess", "--provider", "stripe", stdout=open("/dev/null", "w"))  # noqa: SIM115

    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.processed, failed.attempts, failed.error_message, failed.outcome) == (True, 1, None, "paid")
    assert done.attempts == 1
    assert purchases.paid == [payment.pk]


def test_sweeper_requeues_stale_unprocessed_events(purchases, eager_celery):
    payment = PaymentIntentFactory()
    stale = _store(sf.event("checkout.session.completed", sf.checkout_session_obj(payment)))
    StripeWebhookEvent.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    fresh = _store(sf.event("customer.created", {"id": "cus_2", "object": "customer"}))

    assert webhooks_sweep_task() == {"stripe": 1, "calendly": 0, "zoom": 0}

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.processed is True
    assert fresh.processed is False
    assert purchases.paid == [payment.pk]


def test_reconcile_stores_and_applies_only_missing_events(
    fake_stripe, purchases, eager_celery, django_capture_on_commit_callbacks
):
    payments = [PaymentIntentFactory() for _ in range(3)]
    events = [sf.event("checkout.session.completed", sf.checkout_session_obj(p)) for p in payments]
    old = sf.event("customer.created", {"id": "cus_old", "object": "customer"}, created=int(time.time()) - 3 * 86400)
    fake_stripe.events = [*events, old]
    _store(events[0], processed=True, attempts=1, outcome="paid")

    with django_capture_on_commit_callbacks(execute=True):
        fetched, inserted = webhooks.stripe_events_reconcile(since=timezone.now() - timedelta(hours=24))

    assert (fetched, inserted) == (3, 2)
    [call] = [c for c in fake_stripe.calls if c.path == "/v1/events"]
    assert int(call.params["created[gte]"]) > int(time.time()) - 86400 - 5
    assert StripeWebhookEvent.objects.count() == 3
    assert not StripeWebhookEvent.objects.filter(stripe_event_id=old["id"]).exists()
    assert sorted(purchases.paid) == sorted([payments[1].pk, payments[2].pk])


def test_reconcile_command_pages_through_the_list(fake_stripe, eager_celery, django_capture_on_commit_callbacks):
    fake_stripe.events = [sf.event("customer.created", {"id": f"cus_{i}", "object": "customer"}) for i in range(130)]
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("stripe_reconcile", "--since", "6h", stdout=out)
    assert "... 100 fetched, 100 missing so far" in out.getvalue()
    assert "Fetched 130 event(s); stored 130 missing event(s)" in out.getvalue()
    assert StripeWebhookEvent.objects.count() == 130
    assert StripeWebhookEvent.objects.filter(processed=True, outcome="ignored").count() == 130
    assert len([c for c in fake_stripe.calls if c.path == "/v1/events"]) == 2


def test_orphan_checks_find_what_they_describe(purchases):
    PaymentIntentFactory(kind="never_registered")
    PaymentIntentFactory(kind="test_purchase")
    abandoned = PaymentIntentFactory()
    PaymentIntent.objects.filter(pk=abandoned.pk).update(created_at=timezone.now() - timedelta(days=3))
    RefundRequestFactory(payment=PaymentIntentFactory(status=PaymentStatus.FAILED))
    StripeWebhookEventFactory(attempts=8)
    found = {check.name: check.find().count() for check in CHECKS}

    assert found["payment_intents whose kind has no registered handler"] == 1
    assert found["payment_intents awaiting payment for more than 2 days (abandoned checkouts)"] == 1
    assert found["open refund_requests on a payment that is not paid"] == 1
    assert found["refund_requests whose member is not the payment's member"] == 0
    assert found["stripe_webhook_events that failed every attempt"] == 1


def test_djstripe_mirror_never_fails_the_event(settings, deliver, purchases):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: Stripe unreachable
    payment = PaymentIntentFactory(stripe_payment_intent_id="pi_mirror_1")
    event = sf.event("payment_intent.succeeded", sf.payment_intent_obj(payment, status="succeeded"))
    deliver(event)
    row = StripeWebhookEvent.objects.get(stripe_event_id=event["id"])

    assert webhooks.djstripe_mirror(event_id=str(row.pk)) == "skipped"
    row.refresh_from_db()
    assert (row.processed, row.outcome, row.error_message) == (True, "paid", None)


@pytest.mark.worker
def test_real_worker_applies_a_delivered_event(celery_worker_process, client, settings):
    from tests.billing.stripe_fakes import sign

    payment = PaymentIntentFactory(kind="worker_test_kind")
    event = sf.event("checkout.session.completed", sf.checkout_session_obj(payment))
    body = json.dumps(event).encode()

    response = client.post(
        reverse("billing:stripe_webhook"),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert response.status_code == 200
    duplicate = client.post(
        reverse("billing:stripe_webhook"),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert duplicate.status_code == 200

    row = StripeWebhookEvent.objects.get(stripe_event_id=event["id"])

    def processed() -> bool:
        row.refresh_from_db()
        return row.processed

    wait_until(processed, timeout=30, what="the worker to process the webhook event")
    payment.refresh_from_db()
    assert (row.processed, row.attempts, row.outcome) == (True, 1, "paid")
    assert payment.status == PaymentStatus.SUCCEEDED
    assert StripeWebhookEvent.objects.count() == 1


def test_admin_action_reprocesses_only_unprocessed_selected_events(
    purchases, eager_celery, django_capture_on_commit_callbacks
):
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    from billing.admin import StripeWebhookEventAdmin
    from tests.factories.accounts import UserFactory

    payment = PaymentIntentFactory()
    failed = _store(
        sf.event("checkout.session.completed", sf.checkout_session_obj(payment)), attempts=8, error_message="boom"
    )
    other = PaymentIntentFactory()
    not_selected = _store(
        sf.event("checkout.session.completed", sf.checkout_session_obj(other)), attempts=8, error_message="boom"
    )
    done = _store(sf.event("customer.created", {"id": "cus_9", "object": "customer"}), processed=True, attempts=1)
    model_admin = StripeWebhookEventAdmin(StripeWebhookEvent, admin.site)
    request = RequestFactory().post("/admin/billing/stripewebhookevent/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    request.session = {}
    request._messages = FallbackStorage(request)

    with django_capture_on_commit_callbacks(execute=True):
        model_admin.reprocess(request, StripeWebhookEvent.objects.filter(pk__in=[failed.pk, done.pk]))

    failed.refresh_from_db()
    not_selected.refresh_from_db()
    done.refresh_from_db()
    assert (failed.processed, failed.outcome, failed.error_message) == (True, "paid", None)
    assert (not_selected.processed, not_selected.attempts) == (False, 8)
    assert done.attempts == 1
    assert purchases.paid == [payment.pk]
    assert [str(m) for m in request._messages] == ["1 event(s) queued for processing."]


def test_sweeper_is_on_the_beat_schedule():
    from bloom.celery import app

    app.loader.import_default_modules()
    app.finalize()
    entry = app.conf.beat_schedule["bloom-webhooks-sweep"]
    assert entry["task"] == "bloom.webhooks_sweep_task"
    assert entry["schedule"] <= 300
    assert entry["task"] in app.tasks


def test_sweeper_leaves_events_that_used_every_attempt(purchases, eager_celery):
    payment = PaymentIntentFactory()
    exhausted = _store(
        sf.event("checkout.session.completed", sf.checkout_session_obj(payment)), attempts=8, error_message="boom"
    )
    StripeWebhookEvent.objects.filter(pk=exhausted.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert webhooks_sweep_task() == {"stripe": 0, "calendly": 0, "zoom": 0}
    exhausted.refresh_from_db()
    assert exhausted.processed is False
    assert purchases.paid == []


def test_reconcile_command_rejects_a_bad_since(fake_stripe):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--since"):
        call_command("stripe_reconcile", "--since", "yesterday-ish", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert fake_stripe.calls == []
