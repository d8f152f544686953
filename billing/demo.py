"""Demo billing data for `make run`: a paid payment with a partial refund and a saved card for the demo member."""

from decimal import Decimal

from django.utils import timezone

from accounts.models import User

from .models import (
    BillingCustomer,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundSource,
    RefundStatus,
    UserPaymentMethod,
)

DEMO_MEMBER_EMAIL = "member@bloom.test"


def seed(*, stdout) -> None:
    member = User.objects.filter(email=DEMO_MEMBER_EMAIL).first()
    if member is None:
        stdout.write("billing: demo member missing, skipped")
        return
    now = timezone.now()
    payment, created = _demo_payment(
        member=member,
        number=1,
        description="Demo: Calm Beginnings course",
        amount="149.00",
        paid_at=now - timezone.timedelta(days=12),
        amount_refunded=Decimal("49.00"),
        status=PaymentStatus.PARTIALLY_REFUNDED,
        stripe_checkout_session_id="cs_demo_bloom_0001",
        refunded_at=now - timezone.timedelta(days=3),
    )
    if created:
        RefundRequest.objects.create(
            payment=payment,
            user=member,
            amount_requested=Decimal("49.00"),
            amount_approved=Decimal("49.00"),
            amount_refunded=Decimal("49.00"),
            reason="Missed the last two modules after the baby arrived early.",
            status=RefundStatus.REFUNDED,
            source=RefundSource.MEMBER,
            stripe_refund_id="re_demo_bloom_0001",
            decided_at=now - timezone.timedelta(days=4),
            refunded_at=now - timezone.timedelta(days=3),
        )
    BillingCustomer.objects.get_or_create(user=member, defaults={"stripe_customer_id": "cus_demo_bloom"})
    UserPaymentMethod.objects.get_or_create(
        stripe_payment_method_id="pm_demo_bloom_visa",
        defaults={
            "user": member,
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
            "is_default": True,
        },
    )
    _seed_pending_refund(member=member, now=now)
    stdout.write(f"billing: demo payment, a refund waiting for a decision and a saved card for {member.email}")


def _demo_payment(*, member: User, number: int, description: str, amount: str, paid_at, **fields):
    """The demo member's paid course payment number `number` (created once; its ids say "demo")."""
    return PaymentIntent.objects.get_or_create(
        stripe_payment_intent_id=f"pi_demo_bloom_{number:04d}",
        defaults={
            "user": member,
            "kind": "course_enrollment",
            "object_id": f"demo-{number}",
            "description": description,
            "amount": Decimal(amount),
            "status": PaymentStatus.SUCCEEDED,
            "stripe_charge_id": f"ch_demo_bloom_{number:04d}",
            "paid_at": paid_at,
            "status_changed_at": paid_at,
            **fields,
        },
    )


def _seed_pending_refund(*, member: User, now) -> None:
    """A paid course whose refund the member asked for: the admin home's refunds card."""
    description = "Demo: Sleep and the fourth trimester course"
    paid_at = now - timezone.timedelta(days=2)
    payment, created = _demo_payment(member=member, number=2, description=description, amount="35.00", paid_at=paid_at)
    if created:
        RefundRequest.objects.create(
            payment=payment, user=member, amount_requested=Decimal("35.00"), reason="The baby was unwell that evening."
        )
