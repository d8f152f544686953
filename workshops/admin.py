"""Back office for workshops: the catalog is edited here; seats, attendance and events are read-mostly."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html_join

from accounts.admin_roles import RoleFieldsMixin
from bloom.admin import (
    Confirm,
    ConstraintErrorsMixin,
    LargeTableMixin,
    ReadOnlyAdmin,
    SoftDeleteAdmin,
    plural,
    row_action,
)
from bloom.admin_webhooks import WebhookEventAdminMixin
from bloom.admin_workflow import WorkflowAdminMixin

from . import services, webhooks
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
from .services import attendance


class WorkshopFilter(admin.SimpleListFilter):
    """The workshops of the past 30 days and the next 90 (and the one chosen), not every workshop:
    Django's related filter listed all of them (2,000 at 100x, most of these lists' time). An
    older one is found by its title in the search box. Keeps Django's parameter, so links that
    filter by workshop still work."""

    title = "workshop"
    parameter_name = "workshop__id__exact"

    def lookups(self, request, model_admin):
        now = timezone.now()
        near = Q(starts_at__range=(now - timedelta(days=30), now + timedelta(days=90)))
        if self.value():
            near |= Q(pk=self.value())
        workshops = Workshop.objects.filter(near).order_by("starts_at").only("pk", "title", "starts_at")
        return [(str(w.pk), f"{w.title} ({timezone.localtime(w.starts_at):%d %b %Y})") for w in workshops]

    def queryset(self, request, queryset):
        return queryset.filter(workshop_id=self.value()) if self.value() else queryset


class ArchivableAdmin(SoftDeleteAdmin):
    """Catalog rows: archived rows stay visible; deleting one that members hold is refused."""

    bulk_delete = True  # member rows PROTECT their workshop and series
    archive_description = "Archive selected (hide from members)"
    restore_description = "Restore selected"
    protected_message = "{obj} is still referenced by member records, so it cannot be deleted. Archive it instead."

    @admin.display(boolean=True, description="archived")
    def archived(self, obj) -> bool:
        return obj.is_archived

    def member_records_exist(self, obj) -> bool:
        raise NotImplementedError

    def delete_refusal(self, obj) -> str | None:
        return self.protected_message.format(obj=obj) if self.member_records_exist(obj) else None


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
class WorkshopAdmin(WorkflowAdminMixin, ArchivableAdmin):
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
    actions = ["publish", "archive", "restore", "cancel_workshops"]
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

    @row_action(
        description="Cancel selected workshops (cancels every registration)",
        things="workshop",
        done=lambda outcome: (
            f"{outcome.things(len(outcome.done))} cancelled, {plural(sum(outcome.results), 'registration')} cancelled."
        ),
    )
    def cancel_workshops(self, request, workshop):
        return services.workshop_cancel(workshop=workshop)

    @row_action(
        description="Publish selected workshops",
        things="workshop",
        done="{things} published.",
        unchanged="{things} already published, left as they were.",
        confirm=Confirm(
            title="Publish these workshops?",
            button="Yes, publish",
            intro=(
                "Members will see them and can book (and pay for) seats at once. A workshop without "
                "a host or with a start time that has passed is refused."
            ),
            columns=[
                ("Workshop", lambda workshop: workshop.title),
                ("Starts", lambda workshop: timezone.localtime(workshop.starts_at)),
                ("Host", lambda workshop: workshop.facilitator or "none yet"),
            ],
            related=["facilitator"],
        ),
    )
    def publish(self, request, workshop):
        if not services.workshop_publish(workshop=workshop):
            return False
        self.log_change(request, workshop, "Published")  # mirrored into admin_activity_log
        return True


# Registration actions' refusals name the member ("ada@example.com: already marked attended").
_REGISTRATIONS = {"things": "registration", "label": lambda registration: registration.user}


@admin.register(WorkshopRegistration)
class WorkshopRegistrationAdmin(LargeTableMixin, RoleFieldsMixin, ConstraintErrorsMixin, admin.ModelAdmin):
    """Seats change only through services (actions below), so the form is read-only."""

    list_display = ["user", "workshop", "status", "payment_status", "amount", "registered_at", "cancelled_at"]
    list_filter = ["status", "payment_status", WorkshopFilter]
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

    @row_action(
        description="Cancel selected registrations (offers freed seats to the waitlist)",
        done="{things} cancelled.",
        **_REGISTRATIONS,
    )
    def cancel_registrations(self, request, registration):
        return services.registration_cancel(registration=registration)

    @row_action(description="Mark attended", done="{things} marked attended.", **_REGISTRATIONS)
    def mark_attended(self, request, registration):
        return services.registration_mark_attended(registration=registration)

    @row_action(description="Mark no-show", done="{things} marked no-show.", **_REGISTRATIONS)
    def mark_no_show(self, request, registration):
        return services.registration_mark_no_show(registration=registration)


@admin.register(WorkshopWaitlistEntry)
class WorkshopWaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = ["workshop", "position", "user", "status", "joined_at", "offered_at", "offer_expires_at"]
    list_filter = ["status", WorkshopFilter]
    search_fields = ["user__email", "workshop__title"]
    list_select_related = ["user", "workshop"]


@admin.register(WorkshopAttendance)
class WorkshopAttendanceAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    """Zoom rows are read-only; staff may add a manual row for someone who joined by phone."""

    list_display = ["workshop", "participant_email", "user", "joined_at", "left_at", "duration_minutes", "source"]
    list_filter = ["source", WorkshopFilter]
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
    list_filter = ["kind", WorkshopFilter]
    search_fields = ["participant_email", "participant_name", "connection_id", "registrant_id"]
    list_select_related = ["workshop"]


@admin.register(WorkshopFeedback)
class WorkshopFeedbackAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    """Members write feedback; staff read it and may remove abusive entries."""

    list_display = ["workshop", "user", "rating", "would_recommend", "created_at"]
    list_filter = ["rating", "would_recommend", WorkshopFilter]
    search_fields = ["user__email", "workshop__title"]  # comments are encrypted (docs/adr/0330)
    list_select_related = ["user", "workshop"]
    readonly_fields = ["workshop", "user", "rating", "comments", "would_recommend", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WorkshopResource)
class WorkshopResourceAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ["title", "workshop", "visible_after", "sort_order", "created_at"]
    list_filter = [WorkshopFilter]
    search_fields = ["title", "description", "workshop__title"]
    list_select_related = ["workshop"]


@admin.register(UserWorkshopSeriesProgress)
class UserWorkshopSeriesProgressAdmin(ReadOnlyAdmin):
    list_display = ["user", "series", "sessions_attended", "completed_at", "updated_at"]
    list_filter = ["series", ("completed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "series__title"]
    list_select_related = ["user", "series"]
    actions = ["recount"]

    @row_action(description="Recount attended sessions", things="progress row", done="{things} recounted.")
    def recount(self, request, progress):
        return services.series_progress_update(user_id=progress.user_id, series_id=progress.series_id)


@admin.register(ZoomWebhookEvent)
class ZoomWebhookEventAdmin(WebhookEventAdminMixin, ReadOnlyAdmin):
    webhook_provider = webhooks.PROVIDER
    list_display = ["event_type", "processed", "outcome", "attempts", "created_at", "processed_at"]
