from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from bloom.admin import (
    AdminViewsMixin,
    ConstraintErrorsMixin,
    LargeTableMixin,
    ReadOnlyAdmin,
    SoftDeleteAdmin,
    YesNoFilter,
    row_action,
)
from bloom.admin_workflow import WorkflowAdminMixin

from . import rendering, services
from .admin_home import email_stuck_q
from .models import (
    EmailAutomationLog,
    EmailCampaignMetric,
    EmailPriority,
    EmailQueue,
    EmailSequence,
    EmailSequenceEnrollment,
    EmailSuppression,
    EmailTemplate,
    SequenceEmail,
    SequenceStatus,
    StopCondition,
    UserNotification,
)
from .registry import sequence_stop_checks


def _html_preview(html: str, text: str):
    parts = []
    if html:
        parts.append(
            format_html(
                '<iframe title="HTML preview" sandbox srcdoc="{}" style="width:100%;min-height:420px;border:1px solid #ccc"></iframe>',
                html,
            )
        )
    parts.append(format_html('<pre style="white-space:pre-wrap">{}</pre>', text or "(no plain-text part)"))
    return format_html("{}" * len(parts), *parts)


# Putting an email back in line leaves sent and in-flight ones alone (services.email_requeue).
_REQUEUE = {"things": "email", "unchanged": "{things} left alone: sent or being sent."}


class PriorityFilter(admin.SimpleListFilter):
    """High, normal, low from EmailPriority, not a DISTINCT over the outbox's millions of rows."""

    title = "priority"
    parameter_name = "priority"

    def lookups(self, request, model_admin):
        return [(str(value), label) for value, label in EmailPriority.choices]

    def queryset(self, request, queryset):
        known = {str(value) for value in EmailPriority.values}
        return queryset.filter(priority=int(self.value())) if self.value() in known else queryset


class StuckEmailFilter(YesNoFilter):
    """Queued or sending well past their time (the admin home links here)."""

    title = "stuck"
    parameter_name = "stuck"
    yes_label, no_label = "Stuck in the queue", "Not stuck"

    @property
    def condition(self):
        return email_stuck_q()


@admin.register(EmailQueue)
class EmailQueueAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = ("subject", "to_email", "category", "priority", "status", "scheduled_at", "retry_count", "sent_at")
    list_filter = ("status", StuckEmailFilter, PriorityFilter, "category", "scheduled_at")
    # Matched whole, as typed: their btree indexes serve them (a LIKE over a million rows does not).
    search_fields = search_exact = ("to_email", "idempotency_key", "message_id")
    search_help_text = "A recipient's whole address, a Message-ID or an idempotency key, as written."
    # No date hierarchy: its first level is a DISTINCT over every email's year (the outbox
    # holds millions); the scheduled_at filter covers today to this year.
    # Newest first, sorted: no index on created_at, deliberately. Marking a row sent is a non-HOT
    # update that writes an entry into every index the row is in, so one more index is one more
    # write per send: the drain matters more than this list's order (docs/adr/0450).
    ordering = ("-created_at",)
    readonly_fields = ("preview",)
    exclude = ("mime_message", "html_body", "text_body")
    actions = ("retry", "send_now", "cancel")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Rendered email")
    def preview(self, obj):
        return _html_preview(obj.html_body, obj.text_body)

    @row_action(description="Retry (back in line)", done="{things} put back in the queue.", **_REQUEUE)
    def retry(self, request, email):
        return services.email_requeue(email=email)

    @row_action(description="Send now", done="{things} will be sent now.", **_REQUEUE)
    def send_now(self, request, email):
        return services.email_requeue(email=email, send_now=True)

    @row_action(
        description="Cancel",
        things="email",
        done="{things} cancelled.",
        unchanged="{things} left alone: only pending or failed emails can be cancelled.",
    )
    def cancel(self, request, email):
        return services.email_cancel(email=email)


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ("key", "description", "subject", "text_template", "html_template")

    def clean(self):
        cleaned = super().clean()
        key = cleaned.get("key")
        if key:
            errors = rendering.template_errors(
                key,
                subject=cleaned.get("subject") or "",
                text=cleaned.get("text_template") or "",
                html=cleaned.get("html_template") or "",
            )
            if errors:
                raise forms.ValidationError(errors)
        return cleaned


def template_preview_render(*, key: str, subject: str, text: str, html: str) -> dict:
    """Render unsaved template sources with the key's sample data, or say why they cannot be saved."""
    errors = rendering.template_errors(key, subject=subject, text=text, html=html) if key else ["Choose a key."]
    if errors:
        return {"errors": errors, "subject": "", "text": "", "html": ""}
    context = rendering.sample_context(key)
    try:
        return {
            "errors": [],
            "subject": rendering._clean_subject(rendering._render(subject, context, autoescape=False)),
            "text": rendering._render(text, context, autoescape=False),
            "html": rendering.inline_css(rendering._render(html, context, autoescape=True)) if html.strip() else "",
        }
    except Exception as exc:  # noqa: BLE001  (a filter failing on sample data: show it, never a 500)
        return {"errors": [f"Cannot render with the sample data: {exc}"], "subject": "", "text": "", "html": ""}


@admin.register(EmailTemplate)
class EmailTemplateAdmin(WorkflowAdminMixin, AdminViewsMixin, SoftDeleteAdmin):
    admin_views = [
        ("live-preview/", "live_preview_view", "live_preview"),
        ("<path:object_id>/test-send/", "test_send_view", "test_send"),
    ]
    form = EmailTemplateForm
    change_form_template = "notifications/admin/emailtemplate_change_form.html"
    list_display = ("key", "subject", "description", "archived_at", "updated_at")
    list_filter = ("archived_at",)
    search_fields = ("key", "subject", "description")
    readonly_fields = ("allowed_variables", "preview")
    actions = ("test_send", "archive", "restore")
    things = "template"
    bulk_delete = True
    archive_description = "Archive (use the file default again)"
    restore_description = "Restore"

    @method_decorator(require_POST)
    def live_preview_view(self, request):
        """JSON for the change form's live preview: the typed sources rendered with sample data."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        return JsonResponse(
            template_preview_render(
                key=request.POST.get("key", "").strip(),
                subject=request.POST.get("subject", ""),
                text=request.POST.get("text_template", ""),
                html=request.POST.get("html_template", ""),
            )
        )

    @method_decorator(require_POST)
    def test_send_view(self, request, object_id):
        template = get_object_or_404(EmailTemplate.all_objects, pk=object_id)
        if not self.has_change_permission(request, template):
            raise PermissionDenied
        services.email_template_test_send(template=template, to=request.user.email)
        self.message_user(request, f"Queued a test of {template.key} to {request.user.email}.")
        return redirect(reverse("admin:notifications_emailtemplate_change", args=[template.pk]))

    def render_change_form(self, request, context, *args, **kwargs):
        context["live_preview_url"] = reverse("admin:notifications_emailtemplate_live_preview")
        obj = kwargs.get("obj")
        if obj is not None and obj.pk:
            context["test_send_url"] = reverse("admin:notifications_emailtemplate_test_send", args=[obj.pk])
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="Variables you can use")
    def allowed_variables(self, obj):
        names = rendering.allowed_variables(obj.key) if obj and obj.key else None
        return ", ".join(sorted(names)) if names else "Save with a known key to see its variables."

    @admin.display(description="Preview with sample data")
    def preview(self, obj):
        if not obj or not obj.pk:
            return "The live preview below follows what you type."
        rendered = template_preview_render(
            key=obj.key, subject=obj.subject, text=obj.text_template, html=obj.html_template
        )
        if rendered["errors"]:
            return "Cannot render: " + " ".join(rendered["errors"])
        return format_html(
            "<p><strong>Subject:</strong> {}</p>{}",
            rendered["subject"],
            _html_preview(rendered["html"], rendered["text"]),
        )

    @row_action(
        description="Send a test to my own address",
        things=("test email", "test emails"),
        done="{things} queued to your own address.",
    )
    def test_send(self, request, template):
        return services.email_template_test_send(template=template, to=request.user.email)


class SequenceEmailInline(admin.TabularInline):
    model = SequenceEmail
    extra = 0
    fields = ("position", "delay", "template_key", "subject")


class EmailSequenceForm(forms.ModelForm):
    class Meta:
        model = EmailSequence
        fields = ("name", "trigger", "status", "category", "stop_conditions", "description")
        help_texts = {
            "stop_conditions": "Comma-separated: unsubscribed, suppressed, account_deleted, or a name "
            "another app registered (e.g. purchased)."
        }

    def clean_stop_conditions(self):
        conditions = self.cleaned_data.get("stop_conditions") or []
        # "purchased" and other app-specific conditions only work once an app registers a check.
        built_in = {StopCondition.UNSUBSCRIBED, StopCondition.SUPPRESSED, StopCondition.ACCOUNT_DELETED}
        known = {str(c) for c in built_in} | set(sequence_stop_checks())
        unknown = sorted(set(conditions) - known)
        if unknown:
            raise forms.ValidationError(
                f"Unknown stop condition(s): {', '.join(unknown)} (no check is registered, so it would never "
                f"stop anything). Known: {', '.join(sorted(known))}."
            )
        return conditions


@admin.register(EmailSequence)
class EmailSequenceAdmin(SoftDeleteAdmin):
    form = EmailSequenceForm
    list_display = ("name", "trigger", "category", "status", "archived_at")
    list_filter = ("trigger", "status", "category", "archived_at")
    search_fields = ("name", "description")
    inlines = (SequenceEmailInline,)
    actions = ("pause", "resume", "archive", "restore")
    things = "sequence"
    bulk_delete = True  # recipients' rows PROTECT their sequence
    archive_description = "Archive"
    restore_description = "Restore"

    @row_action(description="Pause", things="sequence", done="{things} paused; no step is queued until resumed.")
    def pause(self, request, sequence):
        return services.sequence_status_set(sequence=sequence, status=SequenceStatus.PAUSED)

    @row_action(description="Resume", things="sequence", done="{things} resumed.")
    def resume(self, request, sequence):
        return services.sequence_status_set(sequence=sequence, status=SequenceStatus.ACTIVE)

    def delete_refusal(self, sequence) -> str | None:
        if sequence.enrollments.exists():
            return f"“{sequence}” has recipients, so it cannot be deleted. Archive it instead."
        return None


@admin.register(SequenceEmail)
class SequenceEmailAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ("sequence", "position", "delay", "template_key", "subject")
    list_filter = ("sequence",)
    search_fields = ("sequence__name", "template_key", "subject")


@admin.register(EmailSequenceEnrollment)
class EmailSequenceEnrollmentAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ("email", "sequence", "status", "current_step", "next_due_at", "stop_reason")
    list_filter = ("status", "sequence")
    search_fields = ("email",)
    readonly_fields = ("sequence", "email", "user", "context", "started_at", "current_step", "stop_reason")
    actions = ("pause", "resume")

    def has_add_permission(self, request):
        return False

    @row_action(description="Pause for this recipient", things="recipient", done="{things} paused.")
    def pause(self, request, enrollment):
        return services.enrollment_pause(enrollment=enrollment)

    @row_action(description="Resume for this recipient", things="recipient", done="{things} resumed.")
    def resume(self, request, enrollment):
        return services.enrollment_resume(enrollment=enrollment)


@admin.register(EmailAutomationLog)
class EmailAutomationLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "email", "sequence", "step", "event", "reason")
    list_filter = ("event", "sequence")
    search_fields = ("email", "reason")


@admin.register(EmailCampaignMetric)
class EmailCampaignMetricAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = (
        "recipient_email",
        "campaign_id",
        "sent_at",
        "opened_at",
        "clicked_at",
        "unsubscribed_at",
        "bounced_at",
    )
    list_filter = ("sent_at", "bounce_type")
    search_fields = ("recipient_email", "campaign_id")


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ("email", "reason", "scope", "created_at")
    list_filter = ("reason", "scope")
    search_fields = ("email", "detail")
    fields = ("email", "reason", "scope", "detail")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            saved = services.suppression_add(email=obj.email, reason=obj.reason, scope=obj.scope, detail=obj.detail)
            obj.pk, obj._state.adding = saved.pk, False


@admin.register(UserNotification)
class UserNotificationAdmin(ReadOnlyAdmin):
    list_display = ("title", "user", "type", "read", "created_at")
    list_filter = ("type", "read")
    search_fields = ("title", "user__email")
