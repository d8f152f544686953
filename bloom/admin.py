"""Admin building blocks shared by every app (this module registers no model)."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from bloom.exceptions import ApplicationError


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows only the system writes (webhook events, logs, views): staff can look, not touch."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ArchivedFilter(admin.SimpleListFilter):
    """Active / archived for soft-deleted models (`archived_at`)."""

    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        return queryset


class ConfirmedActionsMixin:
    """Admin actions that show what they will do first and change rows only once confirmed.

    An action returns `self.action_confirm(...)` until the POST carries `confirm=yes` (the
    page's form re-posts the selection with it: templates/admin/_action_confirm_fields.html),
    then calls `self.action_apply(...)`, which runs one service call per row and reports.
    """

    def action_confirm(self, request, queryset, *, template: str, action: str, title: str, button: str, **extra):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "button": button,
            "action": action,
            "queryset": queryset,
            "opts": self.opts,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **extra,
        }
        return TemplateResponse(request, template, context)

    def action_apply(
        self,
        request,
        queryset,
        change: Callable[[object], object],
        done_message: str,
        *,
        label: Callable[[object], str] | None = None,
    ) -> int:
        """Call `change(row)` for each row; a truthy result counts as done, an ApplicationError is shown
        (after `label(row)` when the error does not say which row it is about).

        `done_message` is formatted with `done`; it is shown as success when anything was done,
        else as a warning.
        """
        done = 0
        for obj in queryset:
            try:
                done += bool(change(obj))
            except ApplicationError as exc:
                prefix = f"{label(obj)}: " if label else ""
                self.message_user(request, prefix + exc.message, messages.ERROR)
        self.message_user(request, done_message.format(done=done), messages.SUCCESS if done else messages.WARNING)
        return done
