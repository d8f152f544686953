"""The admin of every provider's webhook events (bloom/webhooks.py): read-only, one reprocess action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from bloom.webhooks import STALE_AFTER, WebhookProvider

WEBHOOK_EVENT_FIELDS = (
    "event_type",
    "event_data",
    "processed",
    "processed_at",
    "outcome",
    "attempts",
    "error_message",
    "created_at",
)


# What needs a person among a provider's events (the admin home's webhook cards count these):
# (querystring value, words, condition at `now`).
WEBHOOK_STATES = (
    ("failed", "failed (an error is stored; not applied)", lambda now: Q(processed=False, error_message__isnull=False)),
    (
        "waiting",
        f"waiting more than {int(STALE_AFTER.total_seconds() // 60)} minutes",
        lambda now: Q(processed=False, error_message__isnull=True, created_at__lt=now - STALE_AFTER),
    ),
)


class WebhookStateFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(state, label.capitalize()) for state, label, _ in WEBHOOK_STATES]

    def queryset(self, request, queryset):
        for state, _, condition in WEBHOOK_STATES:
            if self.value() == state:
                return queryset.filter(condition(timezone.now()))
        return queryset


class WebhookEventAdminMixin:
    """Mix in before `bloom.admin.ReadOnlyAdmin` (staff can look, not touch) on the admin of a
    `WebhookEventBase` model, and set `webhook_provider`. The one action queues the selected
    unprocessed events for the worker (`WebhookProvider.reprocess`, the semantics of
    `manage.py webhooks_reprocess --queue`); it needs the change permission on the model.
    """

    webhook_provider: WebhookProvider
    list_display = ("created_at", "event_type", "processed", "outcome", "attempts", "error_message")
    list_filter = (WebhookStateFilter, "processed", "outcome", "event_type")
    actions = ["reprocess"]

    def get_search_fields(self, request):
        return (self.webhook_provider.id_field, "event_type", "error_message")

    def get_readonly_fields(self, request, obj=None):
        return (self.webhook_provider.id_field, *WEBHOOK_EVENT_FIELDS)

    def has_reprocess_permission(self, request) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Process the selected unprocessed events again", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        results = self.webhook_provider.reprocess(event_ids=[str(pk) for pk in queryset.values_list("pk", flat=True)])
        self.message_user(request, f"{len(results)} event(s) queued for processing.", messages.SUCCESS)
