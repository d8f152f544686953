from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bloom.admin import (
    AdminViewsMixin,
    AuditedReadMixin,
    DeleteGuardMixin,
    LargeTableMixin,
    ReadOnlyAdmin,
    SoftDeleteAdmin,
)
from bloom.admin_webhooks import WebhookEventAdminMixin
from bloom.exceptions import ApplicationError

from . import notes, services, webhooks
from .admin_attendance import AttendanceAdminMixin
from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentReminderLog,
    CalendlyWebhookEvent,
    NoteTemplate,
    SessionNote,
    SessionNoteVersion,
    TherapistAvailability,
    TherapistProfile,
)
from .workspace import (
    FencedAdminMixin,
    WorkspaceAdminViewsMixin,
    appointment_queryset_for_staff,
    clinician_fence_q,
    session_note_queryset_for_staff,
)


class AvailabilityInline(admin.TabularInline):
    model = TherapistAvailability
    extra = 0


@admin.register(TherapistProfile)
class TherapistProfileAdmin(WorkspaceAdminViewsMixin, SoftDeleteAdmin):
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


class AppointmentCodesForm(forms.ModelForm):
    """The appointment's form, with the superbill codes checked as appointments/notes.py says."""

    diagnosis_codes = SimpleArrayField(
        forms.CharField(max_length=10),
        required=False,
        help_text="ICD-10 codes, separated by commas (e.g. F53.0, O99.345).",
    )
    service_code = forms.CharField(
        required=False,
        max_length=10,
        help_text="CPT: " + ", ".join(f"{code} {label.lower()}" for code, label in notes.SERVICE_CODES.items()) + ".",
    )

    class Meta:
        model = AppointmentData
        fields = "__all__"  # noqa: DJ007  (the admin narrows it to its own fields)

    def clean_diagnosis_codes(self):
        try:
            return notes.diagnosis_codes_clean(codes=self.cleaned_data["diagnosis_codes"] or [])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_service_code(self):
        try:
            return notes.service_code_clean(code=self.cleaned_data["service_code"] or "")
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(AppointmentData)
class AppointmentDataAdmin(LargeTableMixin, AttendanceAdminMixin, FencedAdminMixin, DeleteGuardMixin, admin.ModelAdmin):
    form = AppointmentCodesForm
    list_display = ["starts_at", "user", "invitee_email", "therapist", "status", "created_at"]
    # The starts_at filter instead of a date hierarchy, whose first level reads every session's year.
    list_filter = ["status", "starts_at", "therapist", ("user", admin.EmptyFieldListFilter)]
    search_fields = ["invitee_email", "invitee_name", "user__email", "therapist__display_name", "calendly_invitee_uri"]
    search_exact = ["calendly_invitee_uri"]  # a URI is pasted whole; its unique index serves it
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
    # What a clinician may not change by hand: who the booking is for and with, and the state the
    # money follows. She marks attendance with the buttons (appointments/attendance.py), which hold,
    # capture and charge through billing; Calendly's webhooks set the rest.
    CLINICIAN_READONLY = (
        "user",
        "therapist",
        "status",
        "cancelled_at",
        "cancelled_by",
        "policy_acceptance",
        "rescheduled_from",
        "calendly_old_invitee_uri",
        "calendly_new_invitee_uri",
        "calendly_cancel_url",
        "calendly_reschedule_url",
        "attendance_marked_at",
        "attendance_marked_by",
        "no_show_marked_in_calendly_at",
    )

    def get_queryset(self, request):
        # A clinician opens only her own clients' appointments; another's is a 404 (ADR 0215).
        return appointment_queryset_for_staff(super().get_queryset(request), staff_user=request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and clinician_fence_q(staff_user=request.user) is not None:
            fields += [name for name in self.CLINICIAN_READONLY if name not in fields]
        return fields

    def delete_refusal(self, appointment) -> str | None:
        if appointment.payments.exists() or appointment.session_notes_id:
            return "Not deleted: this appointment has payments or a session note. Cancel it instead."
        return None


@admin.register(AppointmentPayment)
class AppointmentPaymentAdmin(AuditedReadMixin, ReadOnlyAdmin):
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


class SessionNoteForm(forms.ModelForm):
    class Meta:
        model = SessionNote
        fields = ["appointment", "template", "body"]

    def clean(self):
        cleaned = super().clean()
        appointment = cleaned.get("appointment")
        if appointment is not None and appointment.therapist_id is None:
            self.add_error("appointment", "Assign a therapist to the appointment before writing a session note.")
        if self.instance.pk and self.instance.is_signed:
            raise forms.ValidationError(notes.SIGNED_REFUSAL)
        if "body" in cleaned and not cleaned["body"].strip():
            self.add_error("body", "A session note cannot be empty.")
        return cleaned


def _local(moment) -> str:
    """A moment in the reader's zone (the request's active one)."""
    return f"{timezone.localtime(moment):%a %-d %b %Y, %-I:%M %p %Z}"


class AddendumForm(forms.Form):
    body = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 8, "cols": 80}))


@admin.register(SessionNote)
class SessionNoteAdmin(FencedAdminMixin, AdminViewsMixin, admin.ModelAdmin):
    """Lists never show note text; the change page shows it and writes an audit row per view.

    A draft is edited on its page and signed from there (after a confirmation); a signed note's
    page is read-only and offers "Add an addendum". Every body ever saved is listed as a version.
    A clinician sees only her own clients' notes (another's is a 404).
    """

    admin_views = [
        ("<path:object_id>/sign/", "sign_view", "sign"),
        ("<path:object_id>/addendum/", "addendum_view", "addendum"),
    ]
    form = SessionNoteForm
    change_form_template = "admin/appointments/workspace/sessionnote_change_form.html"
    list_display = ["__str__", "appointment", "therapist", "template", "status", "author", "signed_at", "updated_at"]
    list_filter = ["status", "template", "therapist"]
    search_fields = ["appointment__user__email", "therapist__display_name", "author__email"]
    list_select_related = ["appointment", "therapist", "author"]
    raw_id_fields = ["appointment"]

    def get_queryset(self, request):
        return session_note_queryset_for_staff(super().get_queryset(request), staff_user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "appointment":
            # A note only on an appointment she may open: another clinician's id is "not a valid choice".
            kwargs["queryset"] = appointment_queryset_for_staff(AppointmentData.objects.all(), staff_user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["appointment", "template", "body"]
        signed = ["signed_at", "signed_by"] if obj.is_signed else []
        return ["appointment", "therapist", "author", "template", "status", *signed, "body", "history"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fields = ["appointment", "therapist", "author", "template", "status", "signed_at", "signed_by", "history"]
        return [*fields, "body"] if obj.is_signed else fields

    def has_change_permission(self, request, obj=None):
        # Signed and locked: the page is read-only, a POST to it is refused (addenda have their own page).
        if obj is not None and obj.is_signed:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # clinical records are kept (retention); a draft is rewritten, not deleted

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        template = request.GET.get("template", NoteTemplate.SOAP)
        if template in NoteTemplate.values:
            initial["template"] = template
            initial["body"] = notes.note_template_body(template=template)
        return initial

    @admin.display(description="Versions and addenda")
    def history(self, obj):
        versions = notes.session_note_versions(note=obj)
        if not versions:
            return "No versions yet."
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li><strong>{} by {}, {}</strong><pre style='white-space: pre-wrap'>{}</pre></li>",
                (
                    (
                        v.get_kind_display(),
                        v.author.get_full_name() or v.author.email if v.author else "the system",
                        _local(v.created_at),
                        v.body,
                    )
                    for v in versions
                ),
            ),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            note = self.get_object(request, object_id)
            if note is not None and self.has_view_or_change_permission(request, note):
                services.session_note_reveal(note=note, staff_user=request.user, request=request)
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["can_sign"] = not obj.is_signed and super().has_change_permission(request, obj)
            context["can_add_addendum"] = obj.is_signed and self.has_view_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        note = services.session_note_write(
            appointment=obj.appointment, author=request.user, body=obj.body, template=obj.template
        )
        # Copy the service's row back, so the admin's LogEntry (and its audit row) names the real note.
        obj.pk, obj.therapist_id, obj.author_id, obj.created_at = (
            note.pk,
            note.therapist_id,
            note.author_id,
            note.created_at,
        )
        obj._state.adding = False

    def _note_or_404(self, request, object_id) -> SessionNote:
        note = self.get_object(request, object_id)
        if note is None:
            raise Http404("No session note of yours has that id.")
        return note

    def _change_url(self, note) -> str:
        return reverse("admin:appointments_sessionnote_change", args=[note.pk])

    def _page(self, request, template: str, note: SessionNote, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": note,
            "change_url": self._change_url(note),
            **context,
        }
        return TemplateResponse(request, f"admin/appointments/workspace/{template}", context)

    def sign_view(self, request, object_id):
        """GET: what signing means, with a confirm button. POST: sign and lock (notes.session_note_sign)."""
        note = self._note_or_404(request, object_id)
        if note.is_signed:
            self.message_user(request, "This note is already signed.", messages.WARNING)
            return redirect(self._change_url(note))
        if not super().has_change_permission(request, note):
            raise PermissionDenied
        if request.method == "POST":
            try:
                notes.session_note_sign(note=note, signer=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return redirect(self._change_url(note))
            self.log_change(request, note, [{"changed": {"fields": ["status", "signed_at", "signed_by"]}}])
            self.message_user(request, "Signed and locked. Later changes are addenda.", messages.SUCCESS)
            return redirect(self._change_url(note))
        return self._page(request, "sessionnote_sign.html", note, title="Sign and lock this note?")

    def addendum_view(self, request, object_id):
        """GET: the addendum form. POST: add it (notes.session_note_addendum_add); an error keeps the text."""
        note = self._note_or_404(request, object_id)
        if not note.is_signed:
            self.message_user(request, "This note is still a draft: change it on its page.", messages.WARNING)
            return redirect(self._change_url(note))
        if not self.has_view_permission(request, note) or not request.user.has_perm("appointments.add_sessionnote"):
            raise PermissionDenied
        form = AddendumForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                version = notes.session_note_addendum_add(
                    note=note, author=request.user, body=form.cleaned_data["body"]
                )
            except ApplicationError as exc:
                form.add_error("body", exc.message)
            else:
                self.log_change(request, note, [{"added": {"name": "addendum", "object": str(version)}}])
                self.message_user(request, "Addendum added; the signed text is unchanged.", messages.SUCCESS)
                return redirect(self._change_url(note))
        return self._page(request, "sessionnote_addendum.html", note, title="Add an addendum", form=form)


@admin.register(SessionNoteVersion)
class SessionNoteVersionAdmin(ReadOnlyAdmin):
    """Versions are read on their note's page (an audited read); this list never shows text."""

    list_display = ["__str__", "note", "kind", "author", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["note", "author"]
    fields = ["note", "number", "kind", "author", "created_at"]

    def get_queryset(self, request):
        fence = session_note_queryset_for_staff(SessionNote.objects.all(), staff_user=request.user)
        return super().get_queryset(request).filter(note__in=fence.values("pk")).defer("body")


@admin.register(CalendlyWebhookEvent)
class CalendlyWebhookEventAdmin(WebhookEventAdminMixin, ReadOnlyAdmin):
    webhook_provider = webhooks.PROVIDER


from . import admin_booking  # noqa: E402, F401 - the booking gate's evidence (registers its admins)
