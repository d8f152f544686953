"""Back office for payments: rows written by the system are read-only; actions call services."""

from __future__ import annotations

from django.contrib import admin, messages

from bloom.admin import ConfirmedActionsMixin, ReadOnlyAdmin

from . import services, webhooks
from .models import (
    BillingCustomer,
    PaymentIntent,
    RefundRequest,
    RefundStatus,
    StripeWebhookEvent,
    UserPaymentMethod,
    UserPaymentSummary,
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
class PaymentIntentAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "user",
        "kind",
        "description",
        "amount",
        "amount_refunded",
        "currency",
        "status",
        "disputed",
        "needs_action",
    )
    list_filter = ("status", "kind", "disputed", "needs_action", "capture_method")
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
    inlines = [RefundInline]


@admin.register(RefundRequest)
class RefundRequestAdmin(ConfirmedActionsMixin, admin.ModelAdmin):
    """Staff decide refunds here: set "amount approved" for a partial refund, then run an action."""

    list_display = ("created_at", "user", "payment", "amount_requested", "amount_approved", "status", "source")
    list_filter = ("status", "source")
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
    readonly_fields = (
        "payment",
        "user",
        "amount_requested",
        "reason",
        "status",
        "source",
        "decided_by",
        "decided_at",
        "amount_refunded",
        "stripe_refund_id",
        "failure_message",
        "refunded_at",
    )
    actions = ["approve_refunds", "deny_refunds"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status not in (RefundStatus.REQUESTED, RefundStatus.FAILED):
            return (*self.readonly_fields, "amount_approved", "decision_note")
        return self.readonly_fields

    def _confirm(self, request, queryset, *, action: str, title: str, button: str):
        return self.action_confirm(
            request,
            queryset.select_related("user", "payment"),
            template="billing/admin/refund_action_confirm.html",
            action=action,
            title=title,
            button=button,
            approving=action == "approve_refunds",
        )

    @admin.action(description="Approve and refund through Stripe (amount approved, else amount requested)")
    def approve_refunds(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return self._confirm(
                request,
                queryset,
                action="approve_refunds",
                title="Refund these payments through Stripe?",
                button="Yes, refund through Stripe",
            )
        self.action_apply(
            request,
            queryset,
            lambda refund: services.refund_approve(refund=refund, staff=request.user, amount=refund.amount_approved),
            "{done} refund(s) sent to Stripe.",
            label=str,
        )
        return None

    @admin.action(description="Deny (the member sees the decision note)")
    def deny_refunds(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return self._confirm(
                request,
                queryset,
                action="deny_refunds",
                title="Deny these refund requests?",
                button="Yes, deny and tell the members",
            )
        self.action_apply(
            request,
            queryset,
            lambda refund: services.refund_deny(refund=refund, staff=request.user, note=refund.decision_note),
            "{done} refund request(s) denied.",
            label=str,
        )
        return None


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
class StripeWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event_type", "stripe_event_id", "processed", "outcome", "attempts", "error_message")
    list_filter = ("processed", "outcome", "event_type")
    search_fields = ("stripe_event_id", "event_type", "error_message")
    actions = ["reprocess"]

    @admin.action(description="Re-run the selected unprocessed events")
    def reprocess(self, request, queryset):
        count = webhooks.stripe_events_reprocess(event_ids=[str(pk) for pk in queryset.values_list("pk", flat=True)])
        self.message_user(request, f"{count} event(s) queued for processing.", messages.SUCCESS)


@admin.register(UserPaymentSummary)
class UserPaymentSummaryAdmin(ReadOnlyAdmin):
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
