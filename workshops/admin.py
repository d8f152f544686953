"""Back office for workshops: the catalog is edited here; seats, attendance and events are read-mostly."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import ProtectedError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join

from bloom.admin import ReadOnlyAdmin
from bloom.admin_webhooks import WebhookEventAdminMixin
from bloom.exceptions import ApplicationError

from . import attendance, services, webhooks
from .models import (
    AttendanceSource,
    UserWorkshopSeriesProgress,
    Workshop,
    WorkshopAttendance,
    WorkshopConnectionEvent,
    WorkshopFeedback,
    WorkshopRegistration,
    WorkshopResource,
    WorkshopSeries,
    WorkshopWaitlistEntry,
    ZoomWebhookEvent,
)


class ArchivableAdmin(admin.ModelAdmin):
    """Catalog rows: archived rows stay visible; deleting one that members hold is refused."""

    actions = ["archive", "restore"]
    protected_message = "{obj} is still referenced by member records, so it cannot be deleted. Archive it instead."

    def get_queryset(self, request):
        return self.model.all_objects.get_queryset()

    @admin.display(boolean=True, description="archived")
    def archived(self, obj) -> bool:
        return obj.is_archived

    @admin.action(description="Archive selected (hide from members)")
    def archive(self, request, queryset):
        count = queryset.archive()
        self.message_user(request, f"{count} archived.", messages.SUCCESS)

    @admin.action(description="Restore selected")
    def restore(self, request, queryset):
        count = queryset.filter(archived_at__isnull=False).update(archived_at=None)
        self.message_user(request, f"{count} restored.", messages.SUCCESS)

    def member_records_exist(self, obj) -> bool:
        raise NotImplementedError

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.member_records_exist(obj):
            self.message_user(request, self.protected_message.format(obj=obj), messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        try:
            super().delete_model(request, obj)
        except ProtectedError:
            self.message_user(request, self.protected_message.format(obj=obj), messages.ERROR)

    def delete_queryset(self, request, queryset):
        try:
            super().delete_queryset(request, queryset)
        except ProtectedError:
            self.message_user(
                request,
                "Some selected rows are still referenced by member records; archive them instead.",
                messages.ERROR,
            )


class WorkshopResourceInline(admin.TabularInline):
    model = WorkshopResource
    extra = 0
    fields = ["title", "file", "url", "visible_after", "sort_order"]


@admin.register(WorkshopSeries)
class WorkshopSeriesAdmin(ArchivableAdmin):
    list_display = ["title", "slug", "required_sessions", "archived", "created_at"]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}

    def member_records_exist(self, obj) -> bool:
        return obj.workshops.exists() or obj.progress.exists()


@admin.register(Workshop)
class WorkshopAdmin(ArchivableAdmin):
    list_display = [
        "title",
        "starts_at",
        "status",
        "capacity",
        "price",
        "currency",
        "facilitator",
        "series",
        "archived",
    ]
    list_filter = ["status", "series", ("archived_at", admin.EmptyFieldListFilter), "starts_at"]
    search_fields = ["title", "slug", "description", "zoom_meeting_id"]
    date_hierarchy = "starts_at"
    prepopulated_fields = {"slug": ["title"]}
    raw_id_fields = ["facilitator"]
    inlines = [WorkshopResourceInline]
    actions = ["archive", "restore", "cancel_workshops"]
    protected_message = (
        "{obj} has registrations, so it cannot be deleted. Archive it to hide it from members, "
        "or cancel it to release every seat."
    )

    def member_records_exist(self, obj) -> bool:
        return (
            obj.registrations.exists()
            or obj.attendance.exists()
            or obj.feedback.exists()
            or obj.waitlist_entries.exists()
        )

    @admin.action(description="Cancel selected workshops (cancels every registration)")
    def cancel_workshops(self, request, queryset):
        cancelled = sum(services.workshop_cancel(workshop=workshop) for workshop in queryset)
        self.message_user(request, f"{queryset.count()} workshops cancelled, {cancelled} registrations cancelled.")


@admin.register(WorkshopRegistration)
class WorkshopRegistrationAdmin(admin.ModelAdmin):
    """Seats change only through services (actions below), so the form is read-only."""

    list_display = ["user", "workshop", "status", "payment_status", "amount", "registered_at", "cancelled_at"]
    list_filter = ["status", "payment_status", "workshop"]
    search_fields = ["user__email", "workshop__title"]
    list_select_related = ["user", "workshop"]
    readonly_fields = [
        "user",
        "workshop",
        "status",
        "payment_status",
        "payment",
        "amount",
        "currency",
        "registered_at",
        "cancelled_at",
        "created_at",
        "updated_at",
    ]
    actions = ["cancel_registrations", "mark_attended", "mark_no_show"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _apply(self, request, queryset, service, done: str) -> None:
        changed, refused = 0, []
        for registration in queryset:
            try:
                service(registration=registration)
                changed += 1
            except ApplicationError as exc:
                refused.append(f"{registration.user}: {exc.message}")
        self.message_user(request, f"{changed} {done}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description="Cancel selected registrations (offers freed seats to the waitlist)")
    def cancel_registrations(self, request, queryset):
        self._apply(request, queryset, services.registration_cancel, "registrations cancelled")

    @admin.action(description="Mark attended")
    def mark_attended(self, request, queryset):
        self._apply(request, queryset, services.registration_mark_attended, "marked attended")

    @admin.action(description="Mark no-show")
    def mark_no_show(self, request, queryset):
        self._apply(request, queryset, services.registration_mark_no_show, "marked no-show")


@admin.register(WorkshopWaitlistEntry)
class WorkshopWaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = ["workshop", "position", "user", "status", "joined_at", "offered_at", "offer_expires_at"]
    list_filter = ["status", "workshop"]
    search_fields = ["user__email", "workshop__title"]
    list_select_related = ["user", "workshop"]


@admin.register(WorkshopAttendance)
class WorkshopAttendanceAdmin(admin.ModelAdmin):
    """Zoom rows are read-only; staff may add a manual row for someone who joined by phone."""

    list_display = ["workshop", "participant_email", "user", "joined_at", "left_at", "duration_minutes", "source"]
    list_filter = ["source", "workshop"]
    search_fields = ["participant_email", "participant_name", "user__email", "workshop__title"]
    list_select_related = ["user", "workshop"]
    raw_id_fields = ["workshop", "registration", "user"]
    fields = [
        "workshop",
        "registration",
        "user",
        "participant_email",
        "participant_name",
        "joined_at",
        "left_at",
        "duration_minutes",
        "source",
        "zoom_participant_id",
        "participant_key",
        "connections",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return self.fields
        return ["duration_minutes", "source", "zoom_participant_id", "participant_key", "connections"]

    @admin.display(description="Zoom connections (the duration is their union)")
    def connections(self, obj) -> str:
        if obj is None or not obj.participant_key:
            return "—"
        events = WorkshopConnectionEvent.objects.filter(workshop_id=obj.workshop_id)
        ends = [(attendance.ENDED, at) for at in events.filter(kind=attendance.ENDED).values_list("at", flat=True)]
        by_connection: dict[str, list] = {}
        for connection_id, kind, at in events.filter(participant_key=obj.participant_key).values_list(
            "connection_id", "kind", "at"
        ):
            by_connection.setdefault(connection_id, []).append((kind, at))
        lines = []
        for connection_id, connection_events in by_connection.items():
            closed, open_at = attendance.connection_intervals(connection_events + ends)
            parts = [f"{timezone.localtime(a):%H:%M:%S}–{timezone.localtime(b):%H:%M:%S}" for a, b in closed]
            if open_at is not None:
                parts.append(f"joined {timezone.localtime(open_at):%H:%M:%S}, not left yet")
            if not parts:
                parts.append("left, its join not received yet")
            lines.append((connection_id, "; ".join(parts)))
        return format_html_join("", "<div><code>{}</code>: {}</div>", lines) or "—"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = AttendanceSource.MANUAL
            obj.duration_minutes = services.minutes_between(obj.joined_at, obj.left_at)
        super().save_model(request, obj, form, change)


@admin.register(WorkshopConnectionEvent)
class WorkshopConnectionEventAdmin(ReadOnlyAdmin):
    """Zoom's joins and leaves as stored, one per connection and event; attendance is computed from them."""

    list_display = ["workshop", "participant_email", "connection_id", "kind", "at", "participant_key"]
    list_filter = ["kind", "workshop"]
    search_fields = ["participant_email", "participant_name", "connection_id", "registrant_id"]
    list_select_related = ["workshop"]


@admin.register(WorkshopFeedback)
class WorkshopFeedbackAdmin(admin.ModelAdmin):
    """Members write feedback; staff read it and may remove abusive entries."""

    list_display = ["workshop", "user", "rating", "would_recommend", "created_at"]
    list_filter = ["rating", "would_recommend", "workshop"]
    search_fields = ["comments", "user__email", "workshop__title"]
    list_select_related = ["user", "workshop"]
    readonly_fields = ["workshop", "user", "rating", "comments", "would_recommend", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WorkshopResource)
class WorkshopResourceAdmin(admin.ModelAdmin):
    list_display = ["title", "workshop", "visible_after", "sort_order", "created_at"]
    list_filter = ["workshop"]
    search_fields = ["title", "description", "workshop__title"]
    list_select_related = ["workshop"]


@admin.register(UserWorkshopSeriesProgress)
class UserWorkshopSeriesProgressAdmin(ReadOnlyAdmin):
    list_display = ["user", "series", "sessions_attended", "completed_at", "updated_at"]
    list_filter = ["series", ("completed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "series__title"]
    list_select_related = ["user", "series"]
    actions = ["recount"]

    @admin.action(description="Recount attended sessions")
    def recount(self, request, queryset):
        for progress in queryset:
            services.series_progress_update(user_id=progress.user_id, series_id=progress.series_id)
        self.message_user(request, f"{queryset.count()} progress rows recounted.", messages.SUCCESS)


@admin.register(ZoomWebhookEvent)
class ZoomWebhookEventAdmin(WebhookEventAdminMixin, ReadOnlyAdmin):
    webhook_provider = webhooks.PROVIDER
    list_display = ["event_type", "processed", "outcome", "attempts", "created_at", "processed_at"]
