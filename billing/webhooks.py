"""Stripe webhooks: the Stripe `WebhookProvider` (bloom/webhooks.py) and its event handlers.

Bloom's processing works from the event payload and never calls Stripe's API, so a slow
or unreachable Stripe cannot fail an event (docs/adr/0030). Mirroring the object into
dj-stripe's tables is a separate best-effort task (`djstripe_mirror_task`).

Each handler gets the stored event, applies it through billing.services (which lock the
payment row and only move states forward; no handler writes a payment row itself), and
returns an outcome word for the row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from bloom.taskdef import RETRY_FIRST_SECONDS
from bloom.webhooks import (
    NOT_APPLIED,
    UNMATCHED,
    PayloadError,
    SignatureError,
    WebhookProvider,
    signature_header_parse,
    verify_timestamped_hmac,
)

from . import selectors, services, stripe_client
from .models import BillingCustomer, PaymentIntent, PaymentStatus, StripeWebhookEvent, from_cents

logger = logging.getLogger(__name__)

NO_CHANGE = "no_change"

# Object types dj-stripe mirrors; events about other objects are not mirrored.
MIRRORED_OBJECTS = {"payment_intent", "charge", "refund", "payment_method", "customer", "setup_intent", "dispute"}


def signature_verify(*, payload: bytes, header: str, secret: str | None = None, now: float | None = None) -> None:
    """Check a `Stripe-Signature` header (t=...,v1=...) over the raw body; raise SignatureError.

    Stripe signs "{t}.{body}" with HMAC-SHA256 under the endpoint's secret; several v1
    entries may be present while a secret is being rolled. Timestamps more than
    WEBHOOK_TOLERANCE_SECONDS old or in the future are refused.
    """
    timestamp, signatures = signature_header_parse(header)
    if not timestamp or not signatures:
        raise SignatureError("Stripe-Signature header missing or malformed")
    verify_timestamped_hmac(
        secret=secret or settings.STRIPE_WEBHOOK_SECRET,
        timestamp=timestamp,
        signed_payload=timestamp.encode() + b"." + payload,
        signatures=signatures,
        tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
        now=now,
    )


class StripeProvider(WebhookProvider):
    """Stripe: `Stripe-Signature`, keyed by Stripe's event id; stored events wake one drain."""

    name = "stripe"
    model = StripeWebhookEvent
    id_field = "stripe_event_id"
    process_task = "billing.tasks.stripe_event_process_task"

    @property
    def handlers(self) -> Mapping[str, Callable]:
        return HANDLERS

    def verify(self, *, headers, raw: bytes) -> None:
        signature_verify(payload=raw, header=headers.get("Stripe-Signature", ""))

    def event_identity(self, payload: dict) -> tuple[str, str]:
        if not isinstance(payload.get("id"), str) or not isinstance(payload.get("type"), str):
            raise PayloadError("body is not a Stripe event")
        return payload["id"], payload["type"]

    def enqueue(self, event_id: str) -> None:
        """One drain for a burst of deliveries instead of a task per event (docs/adr/0034)."""
        drain_wake()

    def after_process(self, *, event_ids: list[str]) -> None:
        mirror_enqueue(event_ids=event_ids)


PROVIDER = StripeProvider()


# A drain task is queued only when none is pending, so a burst of deliveries costs one
# Celery message instead of one per event (docs/adr/0034). The flag expires on its own in
# case a drain message is lost; the beat sweep catches anything left behind.
DRAIN_FLAG = "billing:stripe-events-drain-pending"
DRAIN_FLAG_SECONDS = 30
DRAIN_BATCH = 50
DRAIN_LIMIT = 2000
DRAIN_POLL_SECONDS = 0.05
# A drain keeps polling for new events until at least this long after it cleared the flag
# (setting BILLING_DRAIN_LINGER_SECONDS; 0 turns the linger and the wake skipping off).
DRAIN_LINGER_SECONDS = 0.5

# When this process saw the flag set (monotonic time taken before asking Redis), or None.
_flag_seen_at: float | None = None


def _linger() -> float:
    return float(getattr(settings, "BILLING_DRAIN_LINGER_SECONDS", DRAIN_LINGER_SECONDS))


def drain_wake(*, force: bool = False) -> None:
    """Make sure a drain task is on its way, asking Redis at most every linger/2 per process.

    Within linger/2 of this process seeing the flag set, a stored event needs no wake-up: a
    drain that had not cleared the flag then is bound to poll at least `linger` after it
    clears it, so it sees every event committed in that window (docs/adr/0035). Otherwise
    one Redis round trip (`cache.add`) sets the flag, and only the caller that set it queues
    `stripe_events_drain_task`. `force` always asks Redis (the drain waking a successor).
    """
    global _flag_seen_at
    from bloom.tasks import send

    from .tasks import stripe_events_drain_task

    now = time.monotonic()
    window = _linger() / 2
    if not force and window > 0 and _flag_seen_at is not None and now - _flag_seen_at < window:
        return
    if cache.add(DRAIN_FLAG, 1, timeout=DRAIN_FLAG_SECONDS):
        send(stripe_events_drain_task)
    _flag_seen_at = now


def stripe_events_drain(*, limit: int = DRAIN_LIMIT) -> int:
    """Apply stored events that were never attempted, oldest first, until none are left.

    Each event is applied by `PROVIDER.process` (its own transaction and row lock), so
    two drains running at once just skip each other's rows. An event whose handler fails
    is handed to `stripe_event_process_task`, which retries it with backoff; the drain
    moves on. Returns how many events it handled; past `limit` it wakes a successor.
    """
    from .tasks import stripe_event_process_task

    cache.delete(DRAIN_FLAG)
    cleared_at = time.monotonic()
    linger = _linger()
    seen: set = set()
    while len(seen) < limit:
        batch = list(
            StripeWebhookEvent.objects.filter(processed=False, attempts=0)
            .exclude(pk__in=seen)
            .order_by("created_at")
            .values_list("pk", flat=True)[:DRAIN_BATCH]
        )
        if not batch:
            if time.monotonic() - cleared_at >= linger:
                return len(seen)
            time.sleep(DRAIN_POLL_SECONDS)
            continue
        applied = []
        for event_id in batch:
            seen.add(event_id)
            try:
                outcome = PROVIDER.process(str(event_id))
            except Exception:  # noqa: BLE001 - recorded on the row; the retry task takes over
                stripe_event_process_task.apply_async((str(event_id),), countdown=RETRY_FIRST_SECONDS)
                continue
            if outcome not in NOT_APPLIED:
                applied.append(str(event_id))
        mirror_enqueue(event_ids=applied)
    drain_wake(force=True)
    return len(seen)


def mirror_enqueue(*, event_ids: list[str]) -> None:
    """Queue the best-effort dj-stripe copy of applied events (one message per batch)."""
    if event_ids and settings.BILLING_DJSTRIPE_MIRROR:
        from .tasks import djstripe_mirror_task

        djstripe_mirror_task.delay(event_ids)


def stripe_events_reconcile(*, since: datetime, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Fetch events Stripe created since `since` and store the ones never delivered.

    Missing events go through the same path as a delivery (`PROVIDER.store_payload`), so
    they are processed by the same task; events already stored are left alone. `progress`
    is called with (fetched, inserted) after every 100 events. Returns (events fetched,
    events inserted).
    """
    fetched = inserted = 0
    for event in stripe_client.event_list(created_gte=int(since.timestamp())):
        fetched += 1
        if PROVIDER.store_payload(event) is not None:
            inserted += 1
        if progress is not None and fetched % 100 == 0:
            progress(fetched, inserted)
    return fetched, inserted


# --- helpers -----------------------------------------------------------------------------


def _object(event: StripeWebhookEvent) -> dict:
    return (event.event_data.get("data") or {}).get("object") or {}


def _created(event: StripeWebhookEvent) -> datetime:
    created = event.event_data.get("created")
    if isinstance(created, int | float):
        return datetime.fromtimestamp(created, tz=UTC)
    return event.created_at or timezone.now()


def _link_session(payment: PaymentIntent, session: dict) -> None:
    services.payment_stripe_ids_link(
        payment=payment,
        stripe_checkout_session_id=stripe_client.object_id(session.get("id"), "cs"),
        stripe_payment_intent_id=stripe_client.object_id(session.get("payment_intent"), "pi"),
    )


def _session_payment(event: StripeWebhookEvent, *, link: bool = True) -> tuple[dict, PaymentIntent | None]:
    """The event's Checkout Session and Bloom's payment for it (None when unmatched).

    With `link`, a matched payment gets the session's and PaymentIntent's Stripe ids.
    """
    session = _object(event)
    payment = selectors.payment_find_for_session(session)
    if payment is not None and link:
        _link_session(payment, session)
    return session, payment


def _session_paid(payment: PaymentIntent, session: dict) -> str:
    services.payment_mark_succeeded(
        payment=payment, stripe_payment_intent_id=stripe_client.object_id(session.get("payment_intent"), "pi")
    )
    return "paid"


def _card_details(pm: dict) -> dict:
    card = pm.get("card") or {}
    return {
        "brand": card.get("brand") or "",
        "last4": card.get("last4") or "",
        "exp_month": card.get("exp_month"),
        "exp_year": card.get("exp_year"),
    }


def _member_for_customer(customer) -> object | None:
    customer_id = stripe_client.object_id(customer, "cus")
    if not customer_id:
        return None
    customer = BillingCustomer.objects.select_related("user").filter(stripe_customer_id=customer_id).first()
    return customer.user if customer else None


# --- handlers ----------------------------------------------------------------------------


def checkout_session_completed(event: StripeWebhookEvent) -> str:
    session, payment = _session_payment(event)
    if payment is None:
        return UNMATCHED
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return _session_paid(payment, session)
    moved = services.payment_status_apply(payment=payment, status=PaymentStatus.PROCESSING, at=_created(event))
    return "processing" if moved else NO_CHANGE


def checkout_session_async_payment_succeeded(event: StripeWebhookEvent) -> str:
    session, payment = _session_payment(event)
    if payment is None:
        return UNMATCHED
    return _session_paid(payment, session)


def checkout_session_async_payment_failed(event: StripeWebhookEvent) -> str:
    session, payment = _session_payment(event)
    if payment is None:
        return UNMATCHED
    moved = services.payment_status_apply(
        payment=payment,
        status=PaymentStatus.FAILED,
        at=_created(event),
        failure_message="Your bank did not complete the payment.",
    )
    return "failed" if moved else NO_CHANGE


def checkout_session_expired(event: StripeWebhookEvent) -> str:
    _session, payment = _session_payment(event, link=False)
    if payment is None:
        return UNMATCHED
    moved = services.payment_status_apply(payment=payment, status=PaymentStatus.CANCELED, at=_created(event))
    return "canceled" if moved else NO_CHANGE


def _payment_for_intent_link(payment: PaymentIntent, intent: dict) -> None:
    intent_id = stripe_client.object_id(intent.get("id"), "pi")
    if not payment.stripe_payment_intent_id and intent_id:
        services.payment_stripe_ids_link(payment=payment, stripe_payment_intent_id=intent_id)


def _payment_for_intent(intent: dict, *, link: bool = True) -> PaymentIntent | None:
    """The payment the intent belongs to; with `link`, one without the intent's id gets it."""
    intent_id = stripe_client.object_id(intent.get("id"), "pi")
    payment = selectors.payment_find_for_stripe_object({**intent, "payment_intent": intent_id})
    if link and payment is not None:
        _payment_for_intent_link(payment, intent)
    return payment


def payment_intent_succeeded(event: StripeWebhookEvent) -> str:
    intent = _object(event)
    # Marking it paid records the intent's id under the same lock: no separate link first.
    payment = _payment_for_intent(intent, link=False)
    if payment is None:
        return UNMATCHED
    if payment.is_paid:
        _payment_for_intent_link(payment, intent)
        return NO_CHANGE
    services.payment_mark_succeeded(
        payment=payment,
        stripe_payment_intent_id=stripe_client.object_id(intent.get("id"), "pi"),
        stripe_charge_id=stripe_client.object_id(intent.get("latest_charge"), "ch"),
        amount=services.stripe_captured_amount(intent),
    )
    return "paid"


def payment_intent_payment_failed(event: StripeWebhookEvent) -> str:
    intent = _object(event)
    payment = _payment_for_intent(intent)
    if payment is None:
        return UNMATCHED
    error = intent.get("last_payment_error") or {}
    # Stripe's own text stays in the stored event; the member reads Bloom's words.
    message = services.card_error_message(code=error.get("code") or "", decline_code=error.get("decline_code") or "")
    if error.get("code") == "authentication_required" or intent.get("status") == "requires_action":
        return "needs_action" if services.payment_needs_action_flag(payment=payment, message=message) else NO_CHANGE
    if payment.stripe_checkout_session_id:
        # The member is still on Stripe's page and may try another card; the session's
        # completion or expiry decides. Only the message is kept.
        services.payment_attempt_failure_note(payment=payment, message=message)
        return "attempt_failed"
    moved = services.payment_status_apply(
        payment=payment, status=PaymentStatus.FAILED, at=_created(event), failure_message=message
    )
    return "failed" if moved else NO_CHANGE


def payment_intent_canceled(event: StripeWebhookEvent) -> str:
    payment = _payment_for_intent(_object(event))
    if payment is None:
        return UNMATCHED
    moved = services.payment_status_apply(payment=payment, status=PaymentStatus.CANCELED, at=_created(event))
    return "canceled" if moved else NO_CHANGE


def payment_intent_amount_capturable_updated(event: StripeWebhookEvent) -> str:
    payment = _payment_for_intent(_object(event))
    if payment is None:
        return UNMATCHED
    moved = services.payment_status_apply(
        payment=payment, status=PaymentStatus.REQUIRES_CAPTURE, at=_created(event), needs_action=False
    )
    return "authorized" if moved else NO_CHANGE


def payment_intent_progress(event: StripeWebhookEvent) -> str:
    """payment_intent.created / processing / requires_action: early states that never overwrite later ones."""
    intent = _object(event)
    payment = _payment_for_intent(intent)
    if payment is None:
        return UNMATCHED
    if intent.get("status") == "requires_action" or event.event_type == "payment_intent.requires_action":
        if payment.stripe_checkout_session_id:
            return NO_CHANGE
        return (
            "needs_action"
            if services.payment_needs_action_flag(
                payment=payment, message="Your bank asked you to confirm this payment."
            )
            else NO_CHANGE
        )
    status = PaymentStatus.PROCESSING if intent.get("status") == "processing" else PaymentStatus.REQUIRES_PAYMENT
    moved = services.payment_status_apply(payment=payment, status=status, at=_created(event))
    return status if moved else NO_CHANGE


def charge_refunded(event: StripeWebhookEvent) -> str:
    """A charge's refunded total changed (refunds from Bloom or from the Stripe dashboard).

    Refund objects in the payload are applied one by one, then the cumulative total
    (`services.refund_charge_total_apply`).
    """
    charge = _object(event)
    payment = selectors.payment_find_for_stripe_object({**charge, "charge": charge.get("id")})
    if payment is None:
        return UNMATCHED
    charge_id = stripe_client.object_id(charge.get("id"), "ch")
    if charge_id and not payment.stripe_charge_id:
        services.payment_stripe_ids_link(payment=payment, stripe_charge_id=charge_id)
    for refund in (charge.get("refunds") or {}).get("data") or []:
        services.refund_sync(
            refund={**refund, "payment_intent": payment.stripe_payment_intent_id or refund.get("payment_intent")}
        )
    increase = services.refund_charge_total_apply(
        payment=payment, total_refunded=from_cents(charge.get("amount_refunded"))
    )
    return "refunded" if increase else NO_CHANGE


def refund_updated(event: StripeWebhookEvent) -> str:
    request = services.refund_sync(refund=_object(event))
    return UNMATCHED if request is None else request.status


def charge_dispute_created(event: StripeWebhookEvent) -> str:
    dispute = _object(event)
    payment = selectors.payment_find_for_stripe_object(dispute)
    if payment is None:
        return UNMATCHED
    return "disputed" if services.payment_flag_disputed(payment=payment, dispute=dispute) else NO_CHANGE


def charge_dispute_closed(event: StripeWebhookEvent) -> str:
    dispute = _object(event)
    payment = selectors.payment_find_for_stripe_object(dispute)
    if payment is None:
        return UNMATCHED
    closed = services.payment_dispute_closed(payment=payment, dispute=dispute)
    return f"dispute {dispute.get('status')}" if closed else NO_CHANGE


def payment_method_attached(event: StripeWebhookEvent) -> str:
    pm = _object(event)
    member = _member_for_customer(pm.get("customer"))
    if member is None:
        return UNMATCHED
    saved = services.card_save(member=member, stripe_payment_method_id=pm["id"], **_card_details(pm))
    return "saved" if saved else NO_CHANGE


def payment_method_detached(event: StripeWebhookEvent) -> str:
    pm = _object(event)
    previous = (event.event_data.get("data") or {}).get("previous_attributes") or {}
    member = _member_for_customer(previous.get("customer") or pm.get("customer"))
    removed = services.card_detached(stripe_payment_method_id=pm["id"], member=member)
    return "removed" if removed else NO_CHANGE


def setup_intent_succeeded(event: StripeWebhookEvent) -> str:
    setup = _object(event)
    member = _member_for_customer(setup.get("customer"))
    pm = setup.get("payment_method")
    pm_id = stripe_client.object_id(pm, "pm")
    if member is None or not pm_id:
        return UNMATCHED
    details = _card_details(pm) if isinstance(pm, dict) else {}
    saved = services.card_save(member=member, stripe_payment_method_id=pm_id, **details)
    return "saved" if saved else NO_CHANGE


HANDLERS: dict[str, Callable[[StripeWebhookEvent], str | None]] = {
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_session_async_payment_succeeded,
    "checkout.session.async_payment_failed": checkout_session_async_payment_failed,
    "checkout.session.expired": checkout_session_expired,
    "payment_intent.created": payment_intent_progress,
    "payment_intent.processing": payment_intent_progress,
    "payment_intent.requires_action": payment_intent_progress,
    "payment_intent.succeeded": payment_intent_succeeded,
    "payment_intent.payment_failed": payment_intent_payment_failed,
    "payment_intent.canceled": payment_intent_canceled,
    "payment_intent.amount_capturable_updated": payment_intent_amount_capturable_updated,
    "charge.refunded": charge_refunded,
    "refund.created": refund_updated,
    "refund.updated": refund_updated,
    "charge.refund.updated": refund_updated,
    "charge.dispute.created": charge_dispute_created,
    "charge.dispute.closed": charge_dispute_closed,
    "payment_method.attached": payment_method_attached,
    "payment_method.detached": payment_method_detached,
    "setup_intent.succeeded": setup_intent_succeeded,
}


def djstripe_mirror(*, event_id: str) -> str:
    """Copy one event's object into dj-stripe's tables (best effort, never raises).

    dj-stripe may call Stripe for related objects; when Stripe is slow or unreachable the
    mirror is skipped and logged, and Bloom's own rows (already applied) are unaffected.
    """
    event = StripeWebhookEvent.objects.filter(pk=event_id).first()
    if event is None:
        return "missing"
    obj = _object(event)
    models = _djstripe_models()
    model = models.get(obj.get("object"))
    if model is None:
        return "not_mirrored"
    try:
        with transaction.atomic():
            model.sync_from_stripe_data(obj, api_key=settings.STRIPE_SECRET_KEY)
    except Exception:  # noqa: BLE001 - a mirror failure must never surface
        logger.warning(
            "dj-stripe mirror of event %s (%s) skipped", event.stripe_event_id, event.event_type, exc_info=True
        )
        return "skipped"
    return "mirrored"


def _djstripe_models() -> dict:
    from djstripe import models as djstripe_models

    return {
        "payment_intent": djstripe_models.PaymentIntent,
        "charge": djstripe_models.Charge,
        "refund": djstripe_models.Refund,
        "payment_method": djstripe_models.PaymentMethod,
        "customer": djstripe_models.Customer,
        "setup_intent": djstripe_models.SetupIntent,
        "dispute": djstripe_models.Dispute,
    }
