"""dj-stripe's mirror tables in the admin: for the owner's eyes only, and read-only for her too.

Bloom keeps its own payment tables (billing/models.py); dj-stripe's are a best-effort copy of
Stripe objects (billing.webhooks.djstripe_mirror) that staff read when reconciling with the
Stripe dashboard. Each of dj-stripe's ModelAdmins is registered again as a subclass that adds,
changes and deletes nothing and offers no action (its "sync from Stripe" actions write). Who
sees them follows Django's permissions: only a reader with `djstripe.view_*` (the owner's role,
which has every permission, and superusers) finds them, under System (bloom/admin_site.py).
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist


def _resolves(model, search_field: str) -> bool:
    name = search_field.lstrip("^=@").split("__")[0]
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class MirrorReadOnly:
    """Mixed in before a dj-stripe ModelAdmin: look, never touch."""

    def get_search_fields(self, request):
        # dj-stripe's own, less those its models no longer have: its Account admin searches
        # `settings` and `business_profile`, which this version keeps inside `stripe_data`, so a
        # search there was a 500 (found by bench/bench_admin_lists.py).
        return [field for field in super().get_search_fields(request) if _resolves(self.model, field)]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}


def djstripe_admins_make_read_only(site=admin.site) -> int:
    """Re-register every dj-stripe model on `site` with a read-only subclass of its admin.
    Idempotent; returns how many were replaced."""
    replaced = 0
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label != "djstripe" or isinstance(model_admin, MirrorReadOnly):
            continue
        read_only = type(f"ReadOnly{type(model_admin).__name__}", (MirrorReadOnly, type(model_admin)), {})
        site.unregister(model)
        site.register(model, read_only)
        replaced += 1
    return replaced
