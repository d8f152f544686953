"""Demo receipts and a superbill for `make run`: the demo member's past sessions with Dr. Rundle,
one attended, coded and paid (part of it refunded), one attended without codes yet, and one
missed with its no-show fee paid (docs/appointments.md, "Receipts and the superbill")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from billing.models import PaymentIntent
from billing.models import PaymentStatus as BillingStatus

from .models import AppointmentData, AppointmentPayment, AppointmentStatus, PaymentKind, PaymentStatus, TherapistProfile

DEMO_MEMBER_EMAIL = "member@bloom.test"
DEMO_THERAPIST_URI = "https://api.calendly.com/users/DEMO-THERAPIST-1"

# (key, days ago, status, service code, diagnosis codes, payment kind, amount, refunded)
DEMO_SESSIONS = [
    ("RECEIPT-1", 21, AppointmentStatus.COMPLETED, "90837", ["F53.0"], PaymentKind.SESSION_FEE, "200.00", "50.00"),
    ("RECEIPT-2", 14, AppointmentStatus.NO_SHOW, "", [], PaymentKind.NO_SHOW_FEE, "75.00", "0.00"),
    ("RECEIPT-3", 7, AppointmentStatus.COMPLETED, "", [], PaymentKind.SESSION_FEE, "200.00", "0.00"),
]

BILLING_KINDS = {
    PaymentKind.SESSION_FEE: "appointment_session_fee",
    PaymentKind.NO_SHOW_FEE: "appointment_no_show_fee",
}


def seed_documents(*, stdout) -> None:
    member = User.objects.filter(email=DEMO_MEMBER_EMAIL).first()
    therapist = TherapistProfile.all_objects.filter(calendly_user_uri=DEMO_THERAPIST_URI).first()
    if member is None or therapist is None:
        stdout.write("appointments: no demo member or therapist, no demo receipts")
        return
    if not therapist.npi:
        therapist.npi, therapist.license_number = "1234567893", "PSY 30000"
        therapist.save(update_fields=["npi", "license_number", "updated_at"])
    now = timezone.now()
    for key, days_ago, status, service_code, diagnoses, kind, amount, refunded in DEMO_SESSIONS:
        starts_at = (now - timedelta(days=days_ago)).replace(hour=17, minute=0, second=0, microsecond=0)
        appointment, _ = AppointmentData.objects.get_or_create(
            calendly_invitee_uri=f"https://api.calendly.com/scheduled_events/DEMO-{key}/invitees/DEMO-{key}",
            defaults={
                "user": member,
                "therapist": therapist,
                "invitee_email": member.email,
                "invitee_name": member.get_full_name(),
                "calendly_event_uri": f"https://api.calendly.com/scheduled_events/DEMO-{key}",
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(minutes=50),
                "status": status,
                "location": "zoom",
                "service_code": service_code,
                "diagnosis_codes": diagnoses,
                "attendance_marked_at": starts_at + timedelta(hours=1),
            },
        )
        paid_at = starts_at + timedelta(hours=2)
        payment, _ = PaymentIntent.objects.get_or_create(
            stripe_payment_intent_id=f"pi_demo_{key.lower()}",
            defaults={
                "user": member,
                "kind": BILLING_KINDS[kind],
                "object_id": str(appointment.pk),
                "description": f"{PaymentKind(kind).label} for the session of {starts_at:%B %-d, %Y}",
                "amount": Decimal(amount),
                "amount_refunded": Decimal(refunded),
                "status": BillingStatus.PARTIALLY_REFUNDED if Decimal(refunded) else BillingStatus.SUCCEEDED,
                "capture_method": "manual",
                "stripe_charge_id": f"ch_demo_{key.lower()}",
                "paid_at": paid_at,
                "status_changed_at": paid_at,
                "refunded_at": paid_at + timedelta(days=2) if Decimal(refunded) else None,
            },
        )
        AppointmentPayment.objects.get_or_create(
            payment=payment,
            defaults={
                "appointment": appointment,
                "user": member,
                "kind": kind,
                "amount": Decimal(amount),
                "status": PaymentStatus.CAPTURED,
                "authorized_at": starts_at - timedelta(days=2),
                "captured_at": paid_at,
            },
        )
    stdout.write(f"appointments: {len(DEMO_SESSIONS)} demo sessions with receipts")
