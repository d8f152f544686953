from django.contrib import admin

from bloom.admin import DeleteGuardMixin, ReadOnlyAdmin, SoftDeleteAdmin
from bloom.admin_webhooks import WebhookEventAdminMixin

from . import services, webhooks
from .admin_attendance import AttendanceAdminMixin
from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentReminderLog,
    CalendlyWebhookEvent,
    SessionNote,
    TherapistAvailability,
    TherapistProfile,
)


class AvailabilityInline(admin.TabularInline):
    model = TherapistAvailability
    extra = 0


@admin.register(TherapistProfile)
class TherapistProfileAdmin(SoftDeleteAdmin):
    list_display = [
        "display_name",
        "credentials",
        "is_accepting_clients",
        "hourly_rate",
        "calendly_user_uri",
        "archived_at",
    ]
    list_filter = ["is_accepting_clients", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["display_name", "credentials", "calendly_user_uri", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["archived_at", "created_at", "updated_at"]
    inlines = [AvailabilityInline]
    things = "therapist"
    archive_description = "Archive selected therapists (hide from the directory)"
    restore_description = "Restore selected therapists"

    def delete_refusal(self, therapist) -> str | None:
        return services.therapist_delete_refusal(therapist=therapist)


@admin.register(TherapistAvailability)
class TherapistAvailabilityAdmin(admin.ModelAdmin):
    list_display = ["therapist", "weekday", "start_time", "end_time", "timezone", "valid_from", "valid_until"]
    list_filter = ["weekday", "timezone"]
    search_fields = ["therapist__display_name"]
    list_select_related = ["therapist"]


class PaymentInline(admin.TabularInline):
    model = AppointmentPayment
    extra = 0
    can_delete = False
    fields = [
        "kind",
        "amount",
        "currency",
        "status",
        "authorized_at",
        "captured_at",
        "released_at",
        "failure_message",
        "idempotency_key",
        "payment",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AppointmentData)
class AppointmentDataAdmin(AttendanceAdminMixin, DeleteGuardMixin, admin.ModelAdmin):
    list_display = ["starts_at", "user", "invitee_email", "therapist", "status", "created_at"]
    list_filter = ["status", "therapist", ("user", admin.EmptyFieldListFilter)]
    search_fields = ["invitee_email", "invitee_name", "user__email", "therapist__display_name", "calendly_invitee_uri"]
    date_hierarchy = "starts_at"
    list_select_related = ["user", "therapist"]
    raw_id_fields = ["user", "therapist"]
    readonly_fields = [
        "calendly_event_uri",
        "calendly_invitee_uri",
        "calendly_synced_at",
        "session_notes",
        "created_at",
        "updated_at",
    ]
    inlines = [PaymentInline]

    def delete_refusal(self, appointment) -> str | None:
        if appointment.payments.exists() or appointment.session_notes_id:
            return "Not deleted: this appointment has payments or a session note. Cancel it instead."
        return None


@admin.register(AppointmentPayment)
class AppointmentPaymentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "appointment", "user", "kind", "amount", "currency", "status"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["user__email", "payment__stripe_payment_intent_id"]
    list_select_related = ["appointment", "user"]


@admin.register(AppointmentReminderLog)
class AppointmentReminderLogAdmin(ReadOnlyAdmin):
    list_display = [
        "sent_at",
        "appointment",
        "kind",
        "channel",
        "session_starts_at",
        "email_queue_id",
        "skipped_reason",
    ]
    list_filter = ["kind", "channel", ("skipped_reason", admin.EmptyFieldListFilter)]
    search_fields = ["appointment__user__email", "appointment__invitee_email"]
    list_select_related = ["appointment"]


@admin.register(SessionNote)
class SessionNoteAdmin(admin.ModelAdmin):
    """Lists never show note text; the change page shows it and writes an audit row per view."""

    list_display = ["__str__", "appointment", "therapist", "author", "created_at", "updated_at"]
    list_filter = ["therapist"]
    search_fields = ["appointment__user__email", "therapist__display_name", "author__email"]
    list_select_related = ["appointment", "therapist", "author"]
    raw_id_fields = ["appointment"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["appointment", "body"]
        return ["appointment", "therapist", "author", "body", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["appointment", "therapist", "author", "created_at", "updated_at"] if obj else []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            note = self.get_object(request, object_id)
            if note is not None and self.has_view_or_change_permission(request, note):
                services.session_note_reveal(note=note, staff_user=request.user, request=request)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        services.session_note_write(appointment=obj.appointment, author=request.user, body=obj.body)


@admin.register(CalendlyWebhookEvent)
class CalendlyWebhookEventAdmin(WebhookEventAdminMixin, ReadOnlyAdmin):
    webhook_provider = webhooks.PROVIDER


from . import admin_booking  # noqa: E402, F401 - the booking gate's evidence (registers its admins)
