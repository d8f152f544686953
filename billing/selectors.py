"""Reads of billing data. Member reads take the member and filter by it: another member's row is a 404."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import (
    OPEN_REFUND_STATUSES,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundStatus,
    StripeCheck,
    UserPaymentMethod,
    UserPaymentSummary,
)
from .stripe_client import object_id

# Payments a member sees on their billing page: ones that happened or are under way.
VISIBLE_STATUSES = [s for s in PaymentStatus.values if s != PaymentStatus.REQUIRES_PAYMENT]


def _open_check(**outer) -> Exists:
    return Exists(StripeCheck.objects.filter(settled_at__isnull=True, **outer))


def payment_list_for_member(*, member) -> QuerySet[PaymentIntent]:
    """The member's payments, newest first; `checking` marks those Stripe has not confirmed yet.

    Also listed: a charge awaiting Stripe's answer ("we're confirming this payment"). Not
    listed: checkouts that never started (canceled before Stripe knew of them) and ones
    the member has not paid yet.
    """
    never_started = Q(
        status=PaymentStatus.CANCELED, stripe_checkout_session_id__isnull=True, stripe_payment_intent_id__isnull=True
    )
    return (
        PaymentIntent.objects.filter(user=member)
        .annotate(checking=_open_check(payment=OuterRef("pk"), refund__isnull=True))
        .filter((Q(status__in=VISIBLE_STATUSES) & ~never_started) | Q(checking=True))
        .order_by("-created_at")
    )


def payment_get_for_member(*, member, payment_id) -> PaymentIntent:
    return get_object_or_404(PaymentIntent.objects.select_related("user"), pk=payment_id, user=member)


def payment_needing_action_list_for_member(*, member) -> QuerySet[PaymentIntent]:
    return PaymentIntent.objects.filter(
        user=member, needs_action=True, status__in=[PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED]
    ).order_by("-created_at")


def refund_list_for_member(*, member) -> QuerySet[RefundRequest]:
    """The member's refunds, newest first; `checking` marks those Stripe has not confirmed yet."""
    return (
        RefundRequest.objects.filter(user=member)
        .annotate(checking=_open_check(refund=OuterRef("pk")))
        .select_related("payment")
        .order_by("-created_at")
    )


def refund_list_refunded_for_payment(*, payment: PaymentIntent) -> QuerySet[RefundRequest]:
    """The refunds paid back on one payment, oldest first, as its receipt lists them."""
    return payment.refund_requests.filter(status=RefundStatus.REFUNDED).order_by("refunded_at")


def refund_open_list_for_member(*, member) -> QuerySet[RefundRequest]:
    return refund_list_for_member(member=member).filter(status__in=OPEN_REFUND_STATUSES)


def payment_method_list_for_member(*, member) -> QuerySet[UserPaymentMethod]:
    return UserPaymentMethod.active.filter(user=member).order_by("-is_default", "-created_at")


def payment_method_get_for_member(*, member, payment_method_id) -> UserPaymentMethod:
    return get_object_or_404(UserPaymentMethod.active, pk=payment_method_id, user=member)


def payment_summary_for_member(*, member) -> UserPaymentSummary | None:
    """Her totals (the `user_payment_summary` view has a row for every user), with
    `needs_action_count`: her payments waiting for her confirmation. One query."""
    needing = (
        payment_needing_action_list_for_member(member=member)
        .filter(user=OuterRef("user"))
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        UserPaymentSummary.objects.filter(user=member)
        .annotate(needs_action_count=Coalesce(Subquery(needing), 0))
        .first()
    )


def _payment_by_bloom_id(payment_id) -> PaymentIntent | None:
    """The payment with Bloom's id as Stripe echoes it back; None for a missing or malformed id."""
    if not payment_id:
        return None
    try:
        return PaymentIntent.objects.filter(pk=payment_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


def payment_find_for_session(session: dict) -> PaymentIntent | None:
    """The payment a Checkout Session was made for: Bloom's id (metadata or client_reference_id), else the session id."""
    metadata = session.get("metadata") or {}
    found = _payment_by_bloom_id(metadata.get("bloom_payment_id") or session.get("client_reference_id"))
    if found is not None:
        return found
    return PaymentIntent.objects.filter(stripe_checkout_session_id=session.get("id")).first()


def payment_find_for_stripe_object(obj: dict) -> PaymentIntent | None:
    """The payment a Stripe object (session, intent, charge, refund, dispute) belongs to, if Bloom made it.

    Tries Bloom's own id in the metadata, then the PaymentIntent id, then the charge id.
    """
    found = _payment_by_bloom_id((obj.get("metadata") or {}).get("bloom_payment_id"))
    if found is not None:
        return found
    intent_id = object_id(obj.get("payment_intent"), "pi")
    if intent_id:
        found = PaymentIntent.objects.filter(stripe_payment_intent_id=intent_id).first()
        if found is not None:
            return found
    charge_id = object_id(obj.get("charge") if obj.get("object") != "charge" else obj.get("id"), "ch")
    if charge_id:
        return PaymentIntent.objects.filter(stripe_charge_id=charge_id).first()
    return None


def stripe_check_open_for_payment(*, payment: PaymentIntent) -> StripeCheck | None:
    """The payment's request Stripe has not answered yet (charge, hold, capture or release), if any."""
    return StripeCheck.objects.filter(payment=payment, refund__isnull=True, settled_at__isnull=True).first()


def stripe_check_list_due(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Ids of open checks with Stripe whose next attempt is due (the sweep sends one task per id)."""
    now = now or timezone.now()
    due = StripeCheck.objects.filter(settled_at__isnull=True, next_attempt_at__lte=now).order_by("next_attempt_at")
    return [str(pk) for pk in due.values_list("pk", flat=True)[:limit]]


# Stripe's card brand codes as a receipt names them.
CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def payment_card_labels(*, member, payment_ids) -> dict:
    """ "Visa ending 4242" for each of the member's payments whose card Bloom knows, keyed by
    payment id: read from the charge as dj-stripe mirrored it from Stripe's webhook
    (`payment_method_details.card`). A payment whose charge was not mirrored is left out
    (the caller says "Card"). One query for the payments, one for their charges."""
    charges = dict(
        PaymentIntent.objects.filter(user=member, pk__in=list(payment_ids), stripe_charge_id__isnull=False).values_list(
            "stripe_charge_id", "pk"
        )
    )
    if not charges:
        return {}
    from djstripe.models import Charge  # dj-stripe is heavy to import; only this read needs it

    labels = {}
    for charge_id, data in Charge.objects.filter(id__in=list(charges)).values_list("id", "stripe_data"):
        details = data.get("payment_method_details") if isinstance(data, dict) else None
        card = details.get("card") if isinstance(details, dict) else None
        card = card if isinstance(card, dict) else {}
        brand, last4 = str(card.get("brand") or "").strip(), str(card.get("last4") or "").strip()
        if last4.isdigit() and len(last4) == 4:
            labels[charges[charge_id]] = f"{CARD_BRANDS.get(brand.lower(), 'Card')} ending {last4}"
    return labels
