"""Billing fixtures: fake Stripe API server, a test purchase kind, signed webhook delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.db import connection, models
from django.urls import reverse

from billing import registry
from bloom.celery import app as celery_app
from tests.billing.stripe_fakes import running_fake_stripe, sign
from tests.ledger import _ledger_has_no_drift_after_each_test  # noqa: F401 - verify after each test (docs/ledger.md)


@pytest.fixture(autouse=True)
def _billing_settings(settings):
    settings.BILLING_DJSTRIPE_MIRROR = False
    # Drains run inline under eager Celery: no linger, so no wake is skipped (docs/adr/0035).
    settings.BILLING_DRAIN_LINGER_SECONDS = 0


@pytest.fixture
def fake_stripe(settings):
    with running_fake_stripe(settings) as fake:
        yield fake


class Fulfilment(models.Model):
    """What the test purchase kind did (a table of its own, so a rolled-back handler leaves no trace)."""

    payment_id = models.UUIDField()
    action = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    fully = models.BooleanField(null=True)

    class Meta:
        app_label = "billing"
        db_table = "test_billing_fulfilments"
        managed = False
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} {self.payment_id}"


@dataclass
class PurchaseLog:
    fail_next_paid: int = 0

    def on_paid(self, *, payment):
        Fulfilment.objects.create(payment_id=payment.pk, action="paid")
        if self.fail_next_paid:
            self.fail_next_paid -= 1
            raise RuntimeError("fulfilment failed (test)")

    def on_failed(self, *, payment):
        Fulfilment.objects.create(payment_id=payment.pk, action="failed")

    def on_refunded(self, *, payment, refund_amount, fully_refunded):
        Fulfilment.objects.create(payment_id=payment.pk, action="refunded", amount=refund_amount, fully=fully_refunded)

    @property
    def paid(self) -> list:
        return list(Fulfilment.objects.filter(action="paid").values_list("payment_id", flat=True))

    @property
    def failed(self) -> list:
        return list(Fulfilment.objects.filter(action="failed").values_list("payment_id", flat=True))

    @property
    def refunded(self) -> list:
        return [
            tuple(row)
            for row in Fulfilment.objects.filter(action="refunded").values_list("payment_id", "amount", "fully")
        ]

    def access(self, payment) -> bool:
        """The test kind's idea of access: granted when paid, revoked by a full refund."""
        rows = Fulfilment.objects.filter(payment_id=payment.pk)
        return rows.filter(action="paid").exists() and not rows.filter(action="refunded", fully=True).exists()


@pytest.fixture
def purchases():
    """A purchase kind "test_purchase" registered for the test, recording each callback in a table."""
    _drop_fulfilments()
    with connection.schema_editor() as editor:
        editor.create_model(Fulfilment)
    log = PurchaseLog()
    saved = dict(registry._kinds)
    registry.register_purchase_kind(
        "test_purchase", on_paid=log.on_paid, on_failed=log.on_failed, on_refunded=log.on_refunded
    )
    yield log
    registry._kinds.clear()
    registry._kinds.update(saved)
    _drop_fulfilments()


def _drop_fulfilments() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS test_billing_fulfilments")


@pytest.fixture
def eager_celery():
    """Run Celery tasks in-process (the worker itself is exercised by the @worker tests)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def deliver(client, settings, eager_celery, django_capture_on_commit_callbacks):
    """POST a signed Stripe event to the webhook; processing tasks run when the request commits."""

    def _deliver(event: dict | bytes, *, secret: str | None = None, timestamp: int | None = None, header=None):
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        signature = header if header is not None else sign(body, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("billing:stripe_webhook"),
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )

    return _deliver


@pytest.fixture
def mailoutbox_rows():
    """Count emails queued in the outbox to an address (optionally with a subject containing a word)."""
    from notifications.models import EmailQueue

    def _count(*, to: str, subject_contains: str = "") -> int:
        return EmailQueue.objects.filter(to_email=to, subject__icontains=subject_contains).count()

    return _count
