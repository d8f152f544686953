"""Every webhook provider through the one interface (bloom.webhooks.WebhookProvider, docs/adr/0003).

For Stripe, Calendly and Zoom alike, with deliveries signed by each provider's real
algorithm: a bad signature is refused and recorded under the one security-event scheme, a
duplicate delivery is stored and woken once, and an event whose wake-up was lost is picked
up by the one sweep task and by `manage.py webhooks_reprocess`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts.models import SecurityEvent
from bloom.tasks import webhooks_sweep_task
from bloom.webhooks import webhook_providers
from tests.appointments.conftest import calendly_body
from tests.appointments.conftest import sign as calendly_sign
from tests.billing.stripe_fakes import event as stripe_event
from tests.billing.stripe_fakes import sign as stripe_sign
from tests.callbacks import work_callbacks
from tests.workshops.conftest import participant_event, zoom_headers

pytestmark = pytest.mark.django_db


@dataclass
class Delivery:
    """How one provider signs and where it posts."""

    url: str
    body: dict

    def headers(self, provider: str, raw: bytes, *, good: bool = True) -> dict:
        if provider == "stripe":
            secret = settings.STRIPE_WEBHOOK_SECRET if good else "whsec_wrong"
            return {"HTTP_STRIPE_SIGNATURE": stripe_sign(raw, secret)}
        if provider == "calendly":
            return {"HTTP_CALENDLY_WEBHOOK_SIGNATURE": calendly_sign(raw, secret=None if good else "wrong-key")}
        return zoom_headers(raw, secret=None if good else "wrong-token")


def _delivery(provider: str) -> Delivery:
    if provider == "stripe":
        intent = {"id": "pi_unknown_to_bloom", "object": "payment_intent", "status": "processing", "metadata": {}}
        return Delivery("/webhooks/stripe/", stripe_event("payment_intent.processing", intent))
    if provider == "calendly":
        return Delivery("/webhooks/calendly/", calendly_body(email="nobody@example.com"))
    return Delivery(
        "/webhooks/zoom/",
        participant_event(
            "meeting.participant_joined", meeting_id="99999", email="nobody@example.com", at="2026-11-24T17:00:00Z"
        ),
    )


PROVIDERS = ["stripe", "calendly", "zoom"]


def _post(client, provider: str, delivery: Delivery, *, good: bool = True):
    raw = json.dumps(delivery.body).encode()
    return client.post(
        delivery.url, data=raw, content_type="application/json", **delivery.headers(provider, raw, good=good)
    )


def test_every_provider_is_found_through_the_interface():
    assert sorted(webhook_providers()) == sorted(PROVIDERS)
    for name, provider in webhook_providers().items():
        assert provider.security_event == f"{name}_webhook_rejected"


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_bad_signature_is_refused_stores_nothing_and_is_recorded(client, name):
    provider = webhook_providers()[name]
    response = _post(client, name, _delivery(name), good=False)
    assert response.status_code == 400
    assert not provider.model.objects.exists()
    security = SecurityEvent.objects.get()
    assert security.event_type == f"{name}_webhook_rejected"
    assert security.details["provider"] == name
    assert "signature does not match" in security.details["reason"]


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_duplicate_delivery_is_stored_and_woken_once(client, name, django_capture_on_commit_callbacks):
    provider = webhook_providers()[name]
    delivery = _delivery(name)
    with django_capture_on_commit_callbacks(execute=False) as first:
        assert _post(client, name, delivery).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as second:
        assert _post(client, name, delivery).status_code == 200
    assert provider.model.objects.count() == 1
    assert (len(work_callbacks(first)), len(work_callbacks(second))) == (1, 0)
    assert not provider.model.objects.get().processed


def _stale_event(name: str):
    provider = webhook_providers()[name]
    event_id = provider.store_payload(_delivery(name).body)
    provider.model.objects.filter(pk=event_id).update(created_at=timezone.now() - timedelta(minutes=10))
    return provider, event_id


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_one_sweep_sends_an_event_whose_wake_up_was_lost(monkeypatch, name):
    provider, event_id = _stale_event(name)
    sent = []
    monkeypatch.setattr(provider.task(), "delay", lambda event_id: sent.append(event_id))
    assert webhooks_sweep_task() == {other: int(other == name) for other in PROVIDERS}
    assert sent == [event_id]


@pytest.mark.parametrize("name", PROVIDERS)
def test_webhooks_reprocess_applies_an_unprocessed_event_and_a_dry_run_changes_nothing(name):
    provider, event_id = _stale_event(name)
    provider.model.objects.filter(pk=event_id).update(attempts=8, error_message="boom")

    out = io.StringIO()
    call_command("webhooks_reprocess", "--provider", name, "--dry-run", stdout=out)
    assert f"would process {event_id}" in out.getvalue()
    assert provider.model.objects.get(pk=event_id).processed is False

    out = io.StringIO()
    call_command("webhooks_reprocess", "--provider", name, stdout=out)
    event = provider.model.objects.get(pk=event_id)
    assert (event.processed, event.attempts, event.error_message) == (True, 1, None)
    assert f"1/1 {event_id}: {event.outcome}" in out.getvalue()
    assert "Processed 1 event(s), 0 failed." in out.getvalue()

    out = io.StringIO()
    call_command("webhooks_reprocess", "--provider", name, stdout=out)
    assert "Processed 0 event(s), 0 failed." in out.getvalue()  # processed events are left alone


def test_the_three_old_sweeps_are_retired_from_the_beat_tables():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from bloom.beat import beat_schedule_sync

    every_5_min, _ = IntervalSchedule.objects.get_or_create(every=300, period=IntervalSchedule.SECONDS)
    old = ["billing-stripe-events-sweep", "appointments-calendly-events-sweep", "workshops-zoom-events-sweep"]
    for name in old:
        PeriodicTask.objects.create(name=name, task=f"{name}.task", interval=every_5_min)
    result = beat_schedule_sync()
    assert sorted(result.deleted) == sorted(old)
    assert not PeriodicTask.objects.filter(name__in=old).exists()
    assert PeriodicTask.objects.get(name="bloom-webhooks-sweep").task == "bloom.webhooks_sweep_task"
    assert beat_schedule_sync().deleted == []
