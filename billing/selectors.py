"""Reads of billing data. Member reads take the member and filter by it: another member's row is a 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import (
    OPEN_REFUND_STATUSES,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    UserPaymentMethod,
    UserPaymentSummary,
)

# Payments a member sees on their billing page: ones that happened or are under way.
VISIBLE_STATUSES = [s for s in PaymentStatus.values if s != PaymentStatus.REQUIRES_PAYMENT]


def payment_list_for_member(*, member) -> QuerySet[PaymentIntent]:
    return PaymentIntent.objects.filter(user=member, status__in=VISIBLE_STATUSES).order_by("-created_at")


def payment_get_for_member(*, member, payment_id) -> PaymentIntent:
    return get_object_or_404(PaymentIntent.objects.select_related("user"), pk=payment_id, user=member)


def payment_needing_action_list_for_member(*, member) -> QuerySet[PaymentIntent]:
    return PaymentIntent.objects.filter(
        user=member, needs_action=True, status__in=[PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED]
    ).order_by("-created_at")


def refund_list_for_member(*, member) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(user=member).select_related("payment").order_by("-created_at")


def refund_open_list_for_member(*, member) -> QuerySet[RefundRequest]:
    return refund_list_for_member(member=member).filter(status__in=OPEN_REFUND_STATUSES)


def payment_method_list_for_member(*, member) -> QuerySet[UserPaymentMethod]:
    return UserPaymentMethod.active.filter(user=member).order_by("-is_default", "-created_at")


def payment_method_get_for_member(*, member, payment_method_id) -> UserPaymentMethod:
    return get_object_or_404(UserPaymentMethod.active, pk=payment_method_id, user=member)


def payment_summary_for_member(*, member) -> UserPaymentSummary | None:
    return UserPaymentSummary.objects.filter(user=member).first()


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
    intent_id = obj.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    if intent_id:
        found = PaymentIntent.objects.filter(stripe_payment_intent_id=intent_id).first()
        if found is not None:
            return found
    charge_id = obj.get("charge") if obj.get("object") != "charge" else obj.get("id")
    if charge_id:
        return PaymentIntent.objects.filter(stripe_charge_id=charge_id).first()
    return None
