"""Helpers for the receipts and superbill tests: PDF text, and sessions paid the way billing pays them."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from appointments.models import AppointmentData, AppointmentPayment, AppointmentStatus
from billing import services as billing_services
from billing.models import CaptureMethod, PaymentIntent, PaymentStatus
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.billing import RefundRequestFactory

_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\) Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)


def pdf_text(content: bytes) -> str:
    """Every string the PDF draws, one per line (reportlab writes them uncompressed here)."""
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")

    def unescape(match: re.Match) -> bytes:
        code = match.group(1)
        return bytes([int(code, 8)]) if code[:1].isdigit() else code

    return "\n".join(_ESCAPE.sub(unescape, raw).decode("cp1252") for raw in _SHOWN.findall(content))


def past_session(*, member, therapist, days_ago: int = 10, **kwargs) -> AppointmentData:
    """An attended session `days_ago` days ago, coded by the clinician (90837, F53.0) unless told otherwise."""
    defaults = {
        "status": AppointmentStatus.COMPLETED,
        "service_code": "90837",
        "diagnosis_codes": ["F53.0"],
        "starts_at": (timezone.now() - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0),
    }
    return AppointmentDataFactory(user=member, therapist=therapist, **{**defaults, **kwargs})


def pay(
    *,
    appointment: AppointmentData,
    amount: str,
    captured: str | None = None,
    kind: str = "appointment_session_fee",
    charge_id: str | None = None,
) -> PaymentIntent:
    """Billing takes `amount` for the appointment (authorised, then `captured` of it when
    given), through billing's own "money arrived" path, which writes the appointment payment."""
    payment = PaymentIntent.objects.create(
        user=appointment.user,
        kind=kind,
        object_id=str(appointment.pk),
        description="Session",
        amount=Decimal(amount),
        capture_method=CaptureMethod.MANUAL,
        status=PaymentStatus.REQUIRES_CAPTURE,
        stripe_payment_intent_id=f"pi_{uuid.uuid4().hex[:24]}",
    )
    billing_services.payment_mark_succeeded(
        payment=payment,
        stripe_charge_id=charge_id or f"ch_{uuid.uuid4().hex[:24]}",
        amount=Decimal(captured) if captured else None,
    )
    payment.refresh_from_db()
    assert AppointmentPayment.objects.filter(payment=payment).exists()
    return payment


def refund(*, payment: PaymentIntent, amount: str, at: datetime | None = None) -> None:
    """Stripe confirmed a refund of `amount` (a refund row and billing's refunded total)."""
    RefundRequestFactory(
        payment=payment,
        user=payment.user,
        amount_requested=Decimal(amount),
        amount_approved=Decimal(amount),
        amount_refunded=Decimal(amount),
        status="refunded",
        refunded_at=at or timezone.now(),
        stripe_refund_id=f"re_{uuid.uuid4().hex[:24]}",
    )
    billing_services.payment_refund_apply(payment=payment, total_refunded=payment.amount_refunded + Decimal(amount))
    payment.refresh_from_db()
