"""Bloom's meaning of payments: every payment of any kind, refunds, saved cards, Stripe events.

dj-stripe's tables mirror Stripe's objects as Stripe sees them; these tables say what a
payment is for (`kind` + `object_id`), where it stands for Bloom and who asked for what.
Money is DECIMAL(10,2) here and integer cents only at the Stripe boundary.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from bloom.fields import choice_constraint, choice_field, money_field, not_negative, optional_user_fk
from bloom.models import TimeStampedModel, UUIDModel, created_at_field
from bloom.webhooks import WebhookEventBase


class PostgresIndex(models.Index):
    """An index whose name may use PostgreSQL's 63 characters (Django checks for 30).

    The seed names `idx_stripe_webhook_events_processed`, which is 35 characters long.
    """

    max_name_length = 63


class PaymentStatus(models.TextChoices):
    REQUIRES_PAYMENT = "requires_payment", "Awaiting payment"
    PROCESSING = "processing", "Processing"
    REQUIRES_CAPTURE = "requires_capture", "Authorised"
    SUCCEEDED = "succeeded", "Paid"
    CANCELED = "canceled", "Canceled"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"


# Statuses in which the member's money reached Bloom (on_paid has run).
PAID_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


class CaptureMethod(models.TextChoices):
    AUTOMATIC = "automatic", "Charged at once"
    MANUAL = "manual", "Authorised, captured later"


class PaymentIntent(TimeStampedModel):
    """One payment of any kind (course, workshop, appointment, fee) as Bloom understands it.

    `kind` + `object_id` name what was bought; the app that registered the kind in
    billing/registry.py is told when it is paid, fails or is refunded. Status changes
    arrive from Stripe webhooks (or at once for a zero amount) and only move forward:
    `status_changed_at` is the Stripe time of the change last applied, so a late event
    cannot overwrite a newer state.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    kind = models.TextField()
    object_id = models.TextField()
    description = models.TextField(blank=True, default="")
    amount = money_field()
    discount_amount = money_field(zero_default=True)
    amount_refunded = money_field(zero_default=True)
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    status = choice_field(PaymentStatus, default=PaymentStatus.REQUIRES_PAYMENT, db_default=True)
    capture_method = choice_field(CaptureMethod, default=CaptureMethod.AUTOMATIC, db_default=True)
    disputed = models.BooleanField(default=False, db_default=False)
    stripe_payment_intent_id = models.TextField(null=True, blank=True, unique=True)
    stripe_checkout_session_id = models.TextField(null=True, blank=True, unique=True)
    stripe_charge_id = models.TextField(null=True, blank=True, db_index=True)
    checkout_url = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, db_default={}, blank=True)
    failure_message = models.TextField(blank=True, default="")
    needs_action = models.BooleanField(
        default=False, db_default=False, help_text="The card asked the member to authenticate; they must complete it."
    )
    charge_date = models.DateTimeField(null=True, blank=True, help_text="When an authorised amount is due.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payment_intents"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="idx_payment_intents_user"),
            models.Index(fields=["kind", "object_id"], name="idx_payment_intents_object"),
            models.Index(fields=["status"], name="idx_payment_intents_status"),
            # The admin home's disputes card reads the few disputed payments only.
            models.Index(fields=["created_at"], name="idx_payment_intents_disputed", condition=Q(disputed=True)),
        ]
        constraints = [
            choice_constraint("payment_intents", "status", PaymentStatus),
            choice_constraint("payment_intents", "capture_method", CaptureMethod),
            not_negative("payment_intents", "amount"),
            not_negative("payment_intents", "discount_amount", name="payment_intents_discount_not_negative"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=models.F("amount")),
                name="payment_intents_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency.upper()} ({self.status})"

    @property
    def amount_cents(self) -> int:
        return to_cents(self.amount)

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def refundable_amount(self) -> Decimal:
        return self.amount - self.amount_refunded


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    PROCESSING = "processing", "Processing"
    REFUNDED = "refunded", "Refunded"
    FAILED = "failed", "Failed"


OPEN_REFUND_STATUSES = (RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.PROCESSING)


class RefundSource(models.TextChoices):
    MEMBER = "member", "Asked by the member"
    STAFF = "staff", "Started by staff"
    STRIPE = "stripe", "Made in the Stripe dashboard"


class RefundRequest(TimeStampedModel):
    """One refund of a payment: asked by a member (or made by staff / in Stripe) and its outcome.

    A member's request waits for a staff decision; approval refunds through Stripe and the
    refund webhook marks it refunded. A refund made in the Stripe dashboard appears here
    with source "stripe" when its webhook lands.
    """

    payment = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refund_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refund_requests")
    amount_requested = money_field()
    amount_approved = money_field(null=True, blank=True)
    amount_refunded = money_field(zero_default=True)
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    reason = models.TextField(blank=True, default="")
    status = choice_field(RefundStatus, default=RefundStatus.REQUESTED, db_default=True)
    source = choice_field(RefundSource, default=RefundSource.MEMBER, db_default=True)
    decided_by = optional_user_fk()
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")
    stripe_refund_id = models.TextField(null=True, blank=True, unique=True)
    failure_message = models.TextField(blank=True, default="")
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "refund_requests"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="idx_refund_requests_user"),
            models.Index(fields=["status"], name="idx_refund_requests_status"),
        ]
        constraints = [
            choice_constraint("refund_requests", "status", RefundStatus),
            choice_constraint("refund_requests", "source", RefundSource),
            models.CheckConstraint(condition=Q(amount_requested__gt=0), name="refund_requests_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_approved__isnull=True) | Q(amount_approved__gt=0),
                name="refund_requests_approved_positive",
            ),
            not_negative("refund_requests", "amount_refunded", name="refund_requests_refunded_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount_requested} {self.currency.upper()} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFUND_STATUSES


class StripeCheckOperation(models.TextChoices):
    PAYMENT_CREATE = "payment_create", "Charge or hold on a saved card"
    CAPTURE = "capture", "Capture an authorisation"
    RELEASE = "release", "Release an authorisation"
    REFUND = "refund", "Refund"


# How long after each unanswered attempt the next one is sent (seconds). The last retry goes
# out about 23 hours after the first request, inside the 24 hours Stripe keeps an
# idempotency key's answer; after it the check waits for the webhook, reconcile or staff.
STRIPE_CHECK_RETRY_DELAYS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)


class StripeCheck(TimeStampedModel):
    """A request to Stripe whose outcome Bloom does not know yet ("checking with Stripe").

    Opened when a charge, hold, capture, release or refund got no clear answer (timeout,
    refused connection, 5xx, 429, invalid request, malformed answer): Stripe may or may not
    have acted. `params` are the exact arguments sent, so every retry repeats the same
    request under the same `idempotency_key` and Stripe replays what it did instead of
    acting twice. Settled (`settled_at`, `outcome`) by the retry's answer, by the webhook
    that reports the object's new state, by `stripe_reconcile`, or by staff.
    """

    payment = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="stripe_checks")
    refund = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="stripe_checks"
    )
    operation = choice_field(StripeCheckOperation)
    idempotency_key = models.TextField(unique=True)
    params = models.JSONField(default=dict, db_default={}, blank=True)
    attempts = models.PositiveIntegerField(default=1, db_default=1, help_text="Requests sent so far.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the retry task asks Stripe again; empty once settled or out of retries."
    )
    last_error = models.TextField(blank=True, default="", help_text="What went wrong last time (for staff).")
    settled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True, default="", help_text="How the check ended.")
    staff_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "stripe_checks"
        ordering = ["-created_at"]
        verbose_name = "check with Stripe"
        verbose_name_plural = "checks with Stripe"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(settled_at__isnull=True, next_attempt_at__isnull=False),
                name="idx_stripe_checks_due",
            ),
        ]
        constraints = [
            choice_constraint("stripe_checks", "operation", StripeCheckOperation),
            models.CheckConstraint(
                condition=Q(operation=StripeCheckOperation.REFUND, refund__isnull=False)
                | (~Q(operation=StripeCheckOperation.REFUND) & Q(refund__isnull=True)),
                name="stripe_checks_refund_iff_refund_operation",
            ),
            # One unanswered request at a time per payment and per refund.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(settled_at__isnull=True, refund__isnull=True),
                name="stripe_checks_one_open_per_payment",
            ),
            models.UniqueConstraint(
                fields=["refund"],
                condition=Q(settled_at__isnull=True, refund__isnull=False),
                name="stripe_checks_one_open_per_refund",
            ),
        ]

    def __str__(self) -> str:
        state = "settled" if self.settled_at else "open"
        return f"{self.get_operation_display()} ({state}, {self.attempts} attempt(s))"

    @property
    def is_open(self) -> bool:
        return self.settled_at is None


class ActivePaymentMethodManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(detached_at__isnull=True)


class UserPaymentMethod(TimeStampedModel):
    """One card a member saved with Stripe for later charges (mirrors a Stripe PaymentMethod).

    Kept in sync by the setup_intent.succeeded, payment_method.attached and
    payment_method.detached webhooks; at most one per member is the default.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_methods")
    stripe_payment_method_id = models.TextField(unique=True)
    brand = models.TextField(blank=True, default="")
    last4 = models.CharField(max_length=4, blank=True, default="")
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False, db_default=False)
    detached_at = models.DateTimeField(
        null=True, blank=True, help_text="Removed from the member's Stripe customer; a detached card never returns."
    )

    objects = models.Manager()
    active = ActivePaymentMethodManager()

    class Meta:
        db_table = "user_payment_methods"
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default=True, detached_at__isnull=True),
                name="user_payment_methods_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand or 'card'} •••• {self.last4}"


class BillingCustomer(UUIDModel):
    """The Stripe Customer that holds one member's saved cards and payments."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing_customer")
    stripe_customer_id = models.TextField(unique=True)
    created_at = created_at_field()

    class Meta:
        db_table = "billing_customers"

    def __str__(self) -> str:
        return self.stripe_customer_id


class StripeWebhookEvent(WebhookEventBase):
    """One event Stripe delivered (or reconcile fetched), stored before it is applied.

    Keyed by Stripe's event id, so a repeated delivery stores nothing new. `attempts`
    counts processing runs; `outcome` says what processing did ("applied", "ignored" ...).
    """

    stripe_event_id = models.TextField(unique=True)
    processed = models.BooleanField(null=True, default=False, db_default=False)

    class Meta(WebhookEventBase.Meta):
        db_table = "stripe_webhook_events"
        indexes = [
            models.Index(fields=["event_type"], name="idx_stripe_webhook_events_type"),
            PostgresIndex(fields=["processed"], name="idx_stripe_webhook_events_processed"),
        ]


class UserPaymentSummary(models.Model):
    """One member's payment totals (read-only view user_payment_summary; see docs/billing.md)."""

    replica_reads = True  # report reads go to DATABASE_REPLICA_URL when set (bloom.dbrouter)

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, primary_key=True, related_name="+", db_column="user_id"
    )
    total_paid = money_field()
    total_refunded = money_field()
    net_paid = money_field()
    payment_count = models.IntegerField()
    refund_count = models.IntegerField()
    open_refund_requests = models.IntegerField()
    disputed_count = models.IntegerField()
    first_payment_at = models.DateTimeField(null=True)
    last_payment_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "user_payment_summary"
        verbose_name_plural = "user payment summaries"

    def __str__(self) -> str:
        return f"{self.user_id}: net {self.net_paid}"


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1")))


def from_cents(cents: int | None) -> Decimal:
    return (Decimal(cents or 0) / 100).quantize(Decimal("0.01"))
