"""Back office for payments: rows written by the system are read-only; actions call services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q

from bloom.admin import AuditedReadMixin, Confirm, LargeTableMixin, ReadOnlyAdmin, YesNoFilter, row_action
from bloom.admin_webhooks import WebhookEventAdminMixin

from . import services, webhooks
from .admin_djstripe import djstripe_admins_make_read_only
from .admin_home import OPEN_DISPUTE
from .models import (
    BillingCustomer,
    PaymentIntent,
    RefundRequest,
    RefundStatus,
    StripeCheck,
    StripeWebhookEvent,
    UserPaymentMethod,
    UserPaymentSummary,
)


def _open_checks(**outer) -> Exists:
    return Exists(StripeCheck.objects.filter(settled_at__isnull=True, **outer))


class CheckingFilter(YesNoFilter):
    """Rows waiting for Stripe's answer to a request (annotated `checking`)."""

    title = "checking with Stripe"
    parameter_name = "checking"
    yes_label, no_label = "Checking with Stripe", "Settled"
    condition = Q(checking=True)


class OpenDisputeFilter(YesNoFilter):
    """Disputed payments whose outcome Stripe has not sent yet (the admin home links here)."""

    title = "open dispute"
    parameter_name = "open_dispute"
    yes_label, no_label = "Dispute open", "No open dispute"
    condition = OPEN_DISPUTE


# Where a StripeCheck stands, shown the same on the payment's page and in the checks' list.
CHECK_PROGRESS_FIELDS = ("operation", "attempts", "next_attempt_at", "settled_at", "outcome", "last_error")


class StripeCheckInline(admin.TabularInline):
    model = StripeCheck
    fk_name = "payment"
    extra = 0
    can_delete = False
    fields = ("created_at", *CHECK_PROGRESS_FIELDS, "idempotency_key")
    readonly_fields = fields
    verbose_name_plural = "checks with Stripe (requests Stripe did not answer clearly)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _run_checks(model_admin, request, payments) -> None:
    results: dict[str, int] = {}
    for payment in payments:
        for result in services.payment_checks_run_now(payment=payment):
            results[result] = results.get(result, 0) + 1
    if not results:
        model_admin.message_user(request, "None of the selected rows is waiting for Stripe.", messages.WARNING)
        return
    words = {
        "answered": "settled by Stripe's answer",
        "declined": "settled: the card was refused",
        "settled": "already settled",
        "unknown": "still no clear answer (Bloom keeps asking)",
        "expired": "too old to resend safely: check the Stripe dashboard",
    }
    summary = "; ".join(f"{count} {words.get(result, result)}" for result, count in sorted(results.items()))
    level = messages.WARNING if {"unknown", "expired"} & results.keys() else messages.SUCCESS
    model_admin.message_user(
        request, f"Asked Stripe again (the same requests, same idempotency keys): {summary}.", level
    )


class RefundInline(admin.TabularInline):
    model = RefundRequest
    fk_name = "payment"
    extra = 0
    can_delete = False
    fields = ("created_at", "amount_requested", "amount_approved", "amount_refunded", "status", "source")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentIntent)
class PaymentIntentAdmin(AuditedReadMixin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "user",
        "kind",
        "description",
        "amount",
        "amount_refunded",
        "currency",
        "status",
        "checking_with_stripe",
        "disputed",
        "needs_action",
    )
    list_filter = ("status", CheckingFilter, "kind", "disputed", OpenDisputeFilter, "needs_action", "capture_method")
    search_fields = (
        "user__email",
        "object_id",
        "description",
        "stripe_payment_intent_id",
        "stripe_checkout_session_id",
        "stripe_charge_id",
    )
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    inlines = [StripeCheckInline, RefundInline]
    actions = ["check_with_stripe"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(checking=_open_checks(payment=OuterRef("pk")))

    @admin.display(boolean=True, description="checking with Stripe", ordering="checking")
    def checking_with_stripe(self, obj) -> bool:
        return obj.checking

    @admin.action(description="Check with Stripe now (resend unanswered requests, same idempotency keys)")
    def check_with_stripe(self, request, queryset):
        _run_checks(self, request, queryset)


def _money(amount, refund) -> str:
    return f"{amount} {refund.currency.upper()}"


def _refund_confirm(*, title: str, button: str, intro: str, decision: tuple) -> Confirm:
    """The confirmation page of a refund decision: who, which payment, how much, and `decision`."""
    return Confirm(
        title=title,
        button=button,
        intro=intro,
        columns=[
            ("Member", lambda refund: refund.user.email),
            (
                "Payment",
                lambda refund: (
                    f"{refund.payment.description or refund.payment.kind} ({_money(refund.payment.amount, refund)})"
                ),
            ),
            ("Requested", lambda refund: _money(refund.amount_requested, refund)),
            decision,
            ("Status", lambda refund: refund.get_status_display()),
        ],
        related=["user", "payment"],
    )


@admin.register(RefundRequest)
class RefundRequestAdmin(AuditedReadMixin, admin.ModelAdmin):
    """Staff decide refunds here: set "amount approved" for a partial refund, then run an action."""

    list_display = (
        "created_at",
        "user",
        "payment",
        "amount_requested",
        "amount_approved",
        "status",
        "checking_with_stripe",
        "source",
    )
    list_filter = ("status", CheckingFilter, "source")
    search_fields = ("user__email", "reason", "stripe_refund_id", "payment__stripe_payment_intent_id")
    list_select_related = ("user", "payment")
    fields = (
        "payment",
        "user",
        "amount_requested",
        "reason",
        "amount_approved",
        "decision_note",
        "status",
        "source",
        "decided_by",
        "decided_at",
        "amount_refunded",
        "stripe_refund_id",
        "failure_message",
        "refunded_at",
    )
    # Staff decide the amount and write the note; everything else is the request and its history.
    readonly_fields = tuple(name for name in fields if name not in ("amount_approved", "decision_note"))
    actions = ["approve_refunds", "deny_refunds"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(checking=_open_checks(refund=OuterRef("pk")))

    @admin.display(boolean=True, description="checking with Stripe", ordering="checking")
    def checking_with_stripe(self, obj) -> bool:
        return obj.checking

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status not in (RefundStatus.REQUESTED, RefundStatus.FAILED):
            return (*self.readonly_fields, "amount_approved", "decision_note")
        return self.readonly_fields

    @row_action(
        description="Approve and refund through Stripe (amount approved, else amount requested)",
        things="refund",
        done="{things} sent to Stripe.",
        confirm=_refund_confirm(
            title="Refund these payments through Stripe?",
            button="Yes, refund through Stripe",
            intro="Each request is refunded for its amount approved, or the amount requested when none is set. "
            "The member is told, and Stripe sends the money back to their card. This cannot be undone.",
            decision=("Will refund", lambda refund: _money(refund.amount_approved or refund.amount_requested, refund)),
        ),
    )
    def approve_refunds(self, request, refund):
        return services.refund_approve(refund=refund, staff=request.user, amount=refund.amount_approved)

    @row_action(
        description="Deny (the member sees the decision note)",
        things="refund request",
        done="{things} denied.",
        confirm=_refund_confirm(
            title="Deny these refund requests?",
            button="Yes, deny and tell the members",
            intro="Each member is told their request was declined, with the decision note shown below.",
            decision=(
                "Decision note",
                lambda refund: refund.decision_note or "(no note: the member sees a generic message)",
            ),
        ),
    )
    def deny_refunds(self, request, refund):
        return services.refund_deny(refund=refund, staff=request.user, note=refund.decision_note)


@admin.register(StripeCheck)
class StripeCheckAdmin(ReadOnlyAdmin):
    """Requests Stripe gave no clear answer to: retried with the same key until settled (docs/billing.md)."""

    list_display = ("created_at", "payment", *CHECK_PROGRESS_FIELDS, "staff_alerted_at")
    list_filter = ("operation", ("settled_at", admin.EmptyFieldListFilter))
    search_fields = ("idempotency_key", "payment__user__email", "payment__stripe_payment_intent_id")
    list_select_related = ("payment", "payment__user")
    actions = ["check_with_stripe"]

    @admin.action(description="Check with Stripe now (resend the same requests, same idempotency keys)")
    def check_with_stripe(self, request, queryset):
        payments = PaymentIntent.objects.filter(pk__in=queryset.filter(settled_at__isnull=True).values("payment_id"))
        _run_checks(self, request, payments)


@admin.register(UserPaymentMethod)
class UserPaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ("user", "brand", "last4", "exp_month", "exp_year", "is_default", "detached_at", "created_at")
    list_filter = ("brand", "is_default")
    search_fields = ("user__email", "stripe_payment_method_id", "last4")
    list_select_related = ("user",)


@admin.register(BillingCustomer)
class BillingCustomerAdmin(ReadOnlyAdmin):
    list_display = ("user", "stripe_customer_id", "created_at")
    list_filter = ("created_at",)
    search_fields = ("user__email", "stripe_customer_id")
    list_select_related = ("user",)


@admin.register(StripeWebhookEvent)
class StripeWebhookEventAdmin(WebhookEventAdminMixin, ReadOnlyAdmin):
    webhook_provider = webhooks.PROVIDER
    list_display = ("created_at", "event_type", "stripe_event_id", "processed", "outcome", "attempts", "error_message")


@admin.register(UserPaymentSummary)
class UserPaymentSummaryAdmin(LargeTableMixin, ReadOnlyAdmin):
    estimate_table = "users"  # the view has a row per user
    list_display = (
        "user",
        "total_paid",
        "total_refunded",
        "net_paid",
        "payment_count",
        "refund_count",
        "open_refund_requests",
        "disputed_count",
        "last_payment_at",
    )
    list_filter = ("last_payment_at",)
    search_fields = ("user__email",)
    list_select_related = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(payment_count__gt=0)


djstripe_admins_make_read_only()  # dj-stripe's admin is registered first (INSTALLED_APPS order)
