"""What billing tells members and staff (through notifications.services, in the caller's transaction).

Email context is stored as JSON by the outbox, so it holds plain values, not model rows.
"""

from __future__ import annotations

from django.conf import settings

from bloom.links import absolute_reverse
from notifications import services as messaging

from .models import PaymentIntent, RefundRequest, StripeCheck


def _url(name: str, *args) -> str:
    return absolute_reverse(name, *args)


def _money(amount, currency: str) -> str:
    return f"{amount} {currency.upper()}"


def _payment_context(payment: PaymentIntent) -> dict:
    return {
        "member_name": payment.user.get_short_name(),
        "member_email": payment.user.email,
        "amount": _money(payment.amount, payment.currency),
        "description": payment.description or payment.kind,
        "billing_url": _url("billing:billing_home"),
    }


def _refund_context(refund: RefundRequest) -> dict:
    return {
        **_payment_context(refund.payment),
        "refund_requested": _money(refund.amount_requested, refund.currency),
        "refund_approved": _money(refund.amount_approved or refund.amount_requested, refund.currency),
        "refund_amount": _money(refund.amount_refunded, refund.currency),
        "reason": refund.reason,
        "decision_note": refund.decision_note,
        "source": refund.get_source_display(),
        "admin_url": _url("admin:billing_refundrequest_change", refund.pk),
    }


def payment_needs_action(*, payment: PaymentIntent) -> None:
    url = _url("billing:payment_complete", payment.pk)
    context = _payment_context(payment)
    messaging.notification_create(
        member=payment.user,
        type="payment_action_required",
        title="Please confirm your payment",
        message=f"Your bank asked you to confirm {context['amount']} for {context['description']}.",
        data={"payment_id": str(payment.pk), "url": url},
        email_template="billing/payment_action_required",
        email_context={**context, "complete_url": url},
    )


def payment_failed(*, payment: PaymentIntent) -> None:
    messaging.notification_create(
        member=payment.user,
        type="payment_failed",
        title="Payment did not go through",
        message=payment.failure_message or "Your card was not charged.",
        data={"payment_id": str(payment.pk), "url": _url("billing:billing_home")},
        email_template="billing/payment_failed",
        email_context={**_payment_context(payment), "failure_message": payment.failure_message},
    )


def refund_requested(*, refund: RefundRequest) -> None:
    messaging.email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="billing/staff_refund_requested",
        context=_refund_context(refund),
        idempotency_key=f"billing:refund-requested:{refund.pk}",
    )


def refund_decided(*, refund: RefundRequest) -> None:
    approved = refund.status != "denied"
    context = _refund_context(refund)
    messaging.notification_create(
        member=refund.user,
        type="refund_approved" if approved else "refund_denied",
        title="Refund approved" if approved else "Refund request declined",
        message=(
            f"We are refunding {context['refund_approved']}."
            if approved
            else (refund.decision_note or "Your refund request was declined.")
        ),
        data={"refund_id": str(refund.pk), "url": _url("billing:billing_home")},
        email_template="billing/refund_decided",
        email_context={**context, "approved": approved},
    )


def refund_completed(*, refund: RefundRequest) -> None:
    context = _refund_context(refund)
    messaging.notification_create(
        member=refund.user,
        type="refund_completed",
        title="Refund sent",
        message=f"{context['refund_amount']} is on its way back to your card.",
        data={"refund_id": str(refund.pk), "url": _url("billing:billing_home")},
        email_template="billing/refund_completed",
        email_context=context,
    )
    messaging.email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="billing/staff_refund_completed",
        context=context,
        idempotency_key=f"billing:refund-completed:{refund.pk}",
    )


def dispute_opened(*, payment: PaymentIntent, dispute: dict) -> None:
    messaging.email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="billing/staff_dispute_opened",
        context={
            **_payment_context(payment),
            "dispute_id": dispute.get("id", ""),
            "reason": dispute.get("reason", ""),
            "admin_url": _url("admin:billing_paymentintent_change", payment.pk),
        },
        priority=messaging.EmailPriority.HIGH,
        idempotency_key=f"billing:dispute:{dispute.get('id') or payment.pk}",
    )


DISPUTE_OUTCOME_WORDS = {
    "won": "won: the funds come back to the practice",
    "lost": "lost: the bank returned the money to the card holder",
    "warning_closed": "closed after an inquiry, with no chargeback",
    "prevented": "prevented before it became a chargeback",
}


def dispute_closed(*, payment: PaymentIntent, dispute: dict) -> None:
    status = dispute.get("status", "")
    messaging.email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="billing/staff_dispute_closed",
        context={
            **_payment_context(payment),
            "dispute_id": dispute.get("id", ""),
            "outcome": DISPUTE_OUTCOME_WORDS.get(status, status),
            "lost": status == "lost",
            "admin_url": _url("admin:billing_paymentintent_change", payment.pk),
        },
        priority=messaging.EmailPriority.HIGH,
        idempotency_key=f"billing:dispute-closed:{dispute.get('id') or payment.pk}:{status}",
    )


def stripe_check_stuck(*, check: StripeCheck) -> None:
    """Tell staff once that Stripe never answered a request and Bloom has stopped asking by itself."""
    payment = check.payment
    messaging.email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="billing/staff_stripe_check_stuck",
        context={
            **_payment_context(payment),
            "operation": check.get_operation_display().lower(),
            "attempts": check.attempts,
            "since": check.created_at.isoformat(timespec="minutes"),
            "idempotency_key": check.idempotency_key,
            "last_error": check.last_error,
            "admin_url": _url("admin:billing_paymentintent_change", payment.pk),
        },
        priority=messaging.EmailPriority.HIGH,
        idempotency_key=f"billing:stripe-check-stuck:{check.pk}:{check.attempts}",
    )
