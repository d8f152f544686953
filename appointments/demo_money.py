"""Demo money flow for the demo member with Dr. Rundle: an upcoming held booking, a past attended
and captured one, a no-show whose fee awaits confirmation, a rescheduled pair (hold moved, no
fee) and a host-cancelled booking whose hold was released. Rows only: the demo calls no Stripe."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User

from .booking import policy_acceptance_current
from .holds import payment_key
from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentStatus,
    BookingPolicyAcceptance,
    CancelledBy,
    PaymentKind,
    PaymentStatus,
    TherapistProfile,
)

THERAPIST_URI = "https://api.calendly.com/users/DEMO-THERAPIST-1"
SESSION_FEE = Decimal("200.00")
NO_SHOW_FEE = Decimal("100.00")


def _invitee(name: str) -> str:
    return f"https://api.calendly.com/scheduled_events/DEMO-MONEY-{name}/invitees/DEMO-MONEY-{name}"


def _booking(*, member, therapist, policy, name: str, starts_in: timedelta, **fields) -> AppointmentData:
    starts_at = (timezone.now() + starts_in).replace(minute=0, second=0, microsecond=0)
    appointment, _ = AppointmentData.objects.get_or_create(
        calendly_invitee_uri=_invitee(name),
        defaults={
            "user": member,
            "therapist": therapist,
            "policy_acceptance": policy,
            "invitee_email": member.email,
            "invitee_name": member.get_full_name(),
            "calendly_event_uri": _invitee(name).split("/invitees/")[0],
            "calendly_cancel_url": f"https://calendly.com/cancellations/DEMO-{name}",
            "calendly_reschedule_url": f"https://calendly.com/reschedulings/DEMO-{name}",
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(minutes=50),
            "location": "zoom",
            "zoom_meeting_url": "https://zoom.us/j/0000000000",
            **fields,
        },
    )
    return appointment


def _payment(appointment, *, kind=PaymentKind.SESSION_FEE, what="hold", amount=SESSION_FEE, **fields) -> None:
    now = timezone.now()
    AppointmentPayment.objects.get_or_create(
        idempotency_key=payment_key(appointment=appointment, what=what, attempt=1),
        defaults={
            "appointment": appointment,
            "user": appointment.user,
            "kind": kind,
            "amount": amount,
            "authorized_at": now - timedelta(days=3) if kind == PaymentKind.SESSION_FEE else None,
            **fields,
        },
    )


def seed_money(*, stdout) -> None:
    member = User.objects.filter(email="member@bloom.test").first()
    therapist = TherapistProfile.all_objects.filter(calendly_user_uri=THERAPIST_URI).first()
    if member is None or therapist is None:
        stdout.write("appointments: no demo member or therapist, no demo money flow")
        return
    # The policy she accepted at the booking gate (appointments/demo_booking.py, with its consent
    # record); a stand-in only when that demo did not run.
    policy = policy_acceptance_current(user=member, therapist=therapist)
    if policy is None:
        policy, _ = BookingPolicyAcceptance.objects.get_or_create(
            user=member,
            therapist=therapist,
            policy_version="demo-2026-12",
            defaults={
                "window_hours": 24,
                "session_fee": SESSION_FEE,
                "no_show_fee": NO_SHOW_FEE,
                "late_cancel_fee": Decimal("75.00"),
            },
        )
    fee = policy.session_fee or SESSION_FEE
    no_show_fee = policy.no_show_fee or NO_SHOW_FEE
    common = {"member": member, "therapist": therapist, "policy": policy}
    now = timezone.now()

    held = _booking(name="HELD", starts_in=timedelta(days=2), **common)
    _payment(held, amount=fee, status=PaymentStatus.AUTHORIZED)

    attended = _booking(
        name="ATTENDED",
        starts_in=-timedelta(days=7),
        status=AppointmentStatus.COMPLETED,
        attendance_marked_at=now - timedelta(days=7),
        attendance_marked_by=therapist.user,
        **common,
    )
    _payment(attended, amount=fee, status=PaymentStatus.CAPTURED, captured_at=now - timedelta(days=7))

    missed = _booking(
        name="NOSHOW",
        starts_in=-timedelta(days=1),
        status=AppointmentStatus.NO_SHOW,
        attendance_marked_at=now - timedelta(hours=20),
        attendance_marked_by=therapist.user,
        **common,
    )
    _payment(missed, amount=fee, status=PaymentStatus.RELEASED, released_at=now - timedelta(hours=20))
    _payment(missed, kind=PaymentKind.NO_SHOW_FEE, what="noshow", amount=no_show_fee, status=PaymentStatus.PENDING)

    old = _booking(
        name="MOVED-FROM",
        starts_in=timedelta(days=4),
        status=AppointmentStatus.RESCHEDULED,
        cancelled_by=CancelledBy.INVITEE,
        cancelled_at=now - timedelta(days=1),
        calendly_new_invitee_uri=_invitee("MOVED-TO"),
        **common,
    )
    _payment(old, amount=fee, status=PaymentStatus.RELEASED, released_at=now - timedelta(days=1))
    new = _booking(
        name="MOVED-TO",
        starts_in=timedelta(days=5),
        rescheduled_from=old,
        calendly_old_invitee_uri=old.calendly_invitee_uri,
        **common,
    )
    _payment(new, amount=fee, status=PaymentStatus.AUTHORIZED)

    cancelled = _booking(
        name="HOST-CANCELLED",
        starts_in=timedelta(days=3),
        status=AppointmentStatus.CANCELLED,
        cancelled_by=CancelledBy.HOST,
        cancelled_at=now - timedelta(hours=6),
        cancel_reason="Dr. Rundle is unwell; she will be in touch to rebook.",
        **common,
    )
    _payment(cancelled, amount=fee, status=PaymentStatus.RELEASED, released_at=now - timedelta(hours=6))
    stdout.write("appointments: demo money flow (held, attended, no-show, rescheduled, host-cancelled) ready")
