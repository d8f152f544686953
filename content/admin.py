"""Back office for the public site. Actions and buttons call services; nothing writes here directly."""

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Lower
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from accounts.services import health_read_record
from bloom.admin import (
    AdminViewsMixin,
    ArchivedFilter,
    AuditedReadMixin,
    ConstraintErrorsMixin,
    CountColumnsMixin,
    LargeTableMixin,
    ReadOnlyAdmin,
    SoftDeleteAdmin,
    count_column,
    row_action,
)
from bloom.admin_workflow import WorkflowAdminMixin
from bloom.audit import audit_read_record
from bloom.downloads import file_response
from bloom.exceptions import ApplicationError
from bloom.links import absolute_reverse
from bloom.text import normalize_email
from notifications import staff_alerts
from notifications.selectors import campaign_metrics_summary

from . import selectors, services
from .forms import SegmentAdminForm, SegmentChoiceForm
from .merge_tags import MERGE_TAGS, merge_tag_errors
from .models import (
    AnalyticsEvent,
    BlogPost,
    BlogPostVersion,
    CampaignStatus,
    CareerApplication,
    ChatConversation,
    ChatMessage,
    ChatStatus,
    ContactStatus,
    ContactSubmission,
    ContentApproval,
    JobPosting,
    NewsletterCampaign,
    PostStatus,
    Subscriber,
    SubscriberSegment,
    SubscriberSegmentMember,
)
from .seo import seo_evaluate
from .services import subscriber_csv

# --- Blog ---------------------------------------------------------------------------------


class BlogPostVersionInline(admin.TabularInline):
    model = BlogPostVersion
    fields = ["version_number", "created_at", "editor", "note", "restore_link"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-version_number"]
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Restore")
    def restore_link(self, version):
        url = reverse("admin:content_blogpost_restore_version", args=[version.post_id, version.pk])
        return format_html('<a href="{}">Restore this version</a>', url)


class ContentApprovalInline(admin.TabularInline):
    model = ContentApproval
    fields = ["created_at", "requested_by", "reviewer", "decision", "comment", "version_number", "decided_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BlogPost)
class BlogPostAdmin(WorkflowAdminMixin, AdminViewsMixin, SoftDeleteAdmin):
    admin_views = [
        ("<uuid:object_id>/versions/<uuid:version_id>/restore/", "restore_version_view", "restore_version"),
    ]
    list_display = ["title", "status", "author", "published_at", "seo_score", "view_count", "updated_at"]
    list_filter = ["status", ArchivedFilter, "author"]
    search_fields = ["title", "slug", "excerpt"]
    list_select_related = ["author"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "status",
        "published_at",
        "archived_at",
        "seo_score",
        "seo_advice",
        "view_count",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "slug", "excerpt", "body", "cover_image_url", "tags", "author"]}),
        ("SEO", {"fields": ["seo_title", "meta_description", "canonical_url", "seo_score", "seo_advice"]}),
        ("Workflow", {"fields": ["status", "published_at", "archived_at", "view_count", "created_at", "updated_at"]}),
    ]
    inlines = [ContentApprovalInline, BlogPostVersionInline]
    change_form_template = "content/admin/blogpost_change_form.html"
    # Review, approval and publishing go through the workflow section of the change page
    # (bloom/admin_workflow.py), the same for every kind of content; the list keeps archive/restore.
    actions = ["archive", "restore"]
    things = "post"
    archive_description = "Archive selected posts (take them off the site)"
    restore_description = "Restore selected archived posts as drafts"
    archive_done = "{things} archived: off the site."
    restore_done = "{things} restored as drafts."

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if (
            obj is not None
            and obj.status == PostStatus.PUBLISHED
            and not selectors.user_is_publisher(user=request.user)
        ):
            fields += [
                "title",
                "slug",
                "excerpt",
                "body",
                "cover_image_url",
                "tags",
                "author",
                "seo_title",
                "meta_description",
                "canonical_url",
            ]
        return fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if "slug" in self.get_readonly_fields(request, obj) else self.prepopulated_fields

    @admin.display(description="SEO advice")
    def seo_advice(self, post):
        report = seo_evaluate(
            title=post.title, seo_title=post.seo_title, meta_description=post.meta_description, body=post.body
        )
        return " ".join(report.advice) or "Nothing to improve."

    def save_model(self, request, obj, form, change):
        services.blog_post_save(post=obj, editor=request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["preview_url"] = reverse("content:blog_detail", args=[obj.slug])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def restore_version_view(self, request, object_id, version_id):
        version = get_object_or_404(BlogPostVersion.objects.select_related("post"), pk=version_id, post_id=object_id)
        if not self.has_change_permission(request, version.post):
            raise PermissionDenied
        change_url = reverse("admin:content_blogpost_change", args=[object_id])
        if request.method == "POST":
            try:
                services.blog_post_version_restore(version=version, editor=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request, f"Version {version.version_number} restored as a new version.", messages.SUCCESS
                )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Restore version {version.version_number}?",
            "version": version,
            "change_url": change_url,
            "opts": self.opts,
        }
        return TemplateResponse(request, "content/admin/blogpost_restore_version.html", context)

    def delete_refusal(self, post) -> str | None:
        referenced = AnalyticsEvent.objects.filter(blog_post=post).count()
        if referenced:
            return f"“{post.title}” is referenced by {referenced} analytics events and cannot be deleted; archive it instead."
        return None

    def delete_model(self, request, obj):
        services.blog_post_delete(post=obj)

    def archive_row(self, request, post):
        return services.blog_post_archive(post=post, user=request.user)

    def restore_row(self, request, post):
        return services.blog_post_restore(post=post, user=request.user)


@admin.register(BlogPostVersion)
class BlogPostVersionAdmin(ReadOnlyAdmin):
    list_display = ["post", "version_number", "editor", "note", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["post__title", "note"]
    list_select_related = ["post", "editor"]
    actions = ["restore_versions"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("post")

    @row_action(
        description="Restore the selected versions (one per post)",
        permissions=["restore"],
        things="version",
        done="{things} restored as new versions.",
    )
    def restore_versions(self, request, version):
        return services.blog_post_version_restore(version=version, editor=request.user)

    def has_restore_permission(self, request) -> bool:
        return request.user.has_perm("content.change_blogpost")


@admin.register(ContentApproval)
class ContentApprovalAdmin(ReadOnlyAdmin):
    list_display = ["post", "decision", "requested_by", "reviewer", "created_at", "decided_at"]
    list_filter = ["decision", "created_at"]
    search_fields = ["post__title", "comment"]
    list_select_related = ["post", "requested_by", "reviewer"]


# --- Newsletter -----------------------------------------------------------------------------


class SegmentMemberInline(admin.TabularInline):
    model = SubscriberSegmentMember
    fk_name = "segment"
    fields = ["subscriber", "added_by", "created_at"]
    readonly_fields = ["added_by", "created_at"]
    raw_id_fields = ["subscriber"]
    extra = 0


def _log_import(user, plan) -> None:
    """One admin log entry per subscriber an import changed (mirrored into the audit trail)."""
    for action in (subscriber_csv.CONFIRM, subscriber_csv.OPT_IN, subscriber_csv.RECORD_OPT_OUT):
        emails = [row.email for row in plan.rows if row.action == action]
        if emails:
            LogEntry.objects.log_actions(
                user.pk,
                Subscriber.objects.filter(email__in=emails),
                CHANGE,
                f"Imported from CSV: {subscriber_csv.ACTION_WORDS[action].lower()}.",
            )


class SubscriberImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: email, first_name, status, consent_source, consent_date, consent_proof "
        "(the export's format). Only rows marked confirmed with a consent date and proof are added as confirmed; "
        "everyone else is sent the confirmation email first.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError("The file is larger than 2 MB; please split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError("The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8”.") from exc


IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_SALT = "content.subscriber.import"


def _csv_response(text: str, name: str):
    return file_response(
        text, content_type="text/csv; charset=utf-8", filename=f"{name}-{timezone.localdate():%Y-%m-%d}.csv"
    )


@admin.register(Subscriber)
class SubscriberAdmin(LargeTableMixin, ConstraintErrorsMixin, AdminViewsMixin, admin.ModelAdmin):
    admin_views = [("import/", "import_view", "import")]
    change_list_template = "content/admin/subscriber_change_list.html"
    list_display = ["email", "first_name", "status", "source", "engagement_score", "confirmed_at", "created_at"]
    list_filter = ["status", "source", "segments"]
    ordering = [Lower("email")]  # subscribers_email_lower_uniq serves it: a page, not a sort of every subscriber
    search_fields = ["email", "first_name"]
    readonly_fields = [
        "status",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "engagement_score",
        "engagement_computed_at",
        "created_at",
        "updated_at",
    ]
    fields = ["email", "first_name", "source", "consent_proof", *readonly_fields]
    actions = [
        "export_csv",
        "add_to_segment",
        "remove_from_segment",
        "mark_unsubscribed",
        "resend_confirmation",
        "recompute_engagement",
    ]

    def save_model(self, request, obj, form, change):
        obj.email = normalize_email(obj.email)
        super().save_model(request, obj, form, change)

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("content.export_subscriber")

    @admin.action(description="Export selected subscribers as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        return _csv_response(subscriber_csv.subscriber_csv_export(subscribers=queryset), "subscribers")

    def import_view(self, request):
        """Upload a CSV, see what each row would do, then confirm (the file travels signed)."""
        if not request.user.has_perm("content.add_subscriber"):
            raise PermissionDenied
        changelist_url = reverse("admin:content_subscriber_changelist")
        form = SubscriberImportForm()
        plan = signed = None
        if request.method == "POST" and "confirm" in request.POST:
            try:
                text = signing.loads(request.POST.get("signed", ""), salt=IMPORT_SALT, max_age=3600)
            except signing.BadSignature:
                self.message_user(request, "That import has expired. Please upload the file again.", messages.ERROR)
                return HttpResponseRedirect(request.path)
            plan = subscriber_csv.subscriber_import_apply(text=text)
            if plan.problem:
                self.message_user(request, plan.problem, messages.ERROR)
                return HttpResponseRedirect(request.path)
            _log_import(request.user, plan)
            counts = plan.counts
            self.message_user(
                request,
                f"Import done: {counts['confirm']} added as confirmed, {counts['opt_in']} sent the confirmation "
                f"email, {counts['opt_out']} recorded as not wanting the newsletter, {counts['leave']} left as they "
                f"were, {counts['error']} rows not imported.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(changelist_url)
        if request.method == "POST":
            form = SubscriberImportForm(request.POST, request.FILES)
            if form.is_valid():
                text = form.cleaned_data["file"]
                plan = subscriber_csv.subscriber_import_plan(text=text)
                if plan.problem:
                    form.add_error("file", plan.problem)
                    plan = None
                else:
                    signed = signing.dumps(text, salt=IMPORT_SALT, compress=True)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import subscribers from CSV",
            "form": form,
            "plan": plan,
            "signed": signed,
            "changelist_url": changelist_url,
            "opts": self.opts,
        }
        return TemplateResponse(request, "content/admin/subscriber_import.html", context)

    def _segment_action(self, request, queryset, *, add: bool):
        form = SegmentChoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            segment = form.cleaned_data["segment"]
            try:
                if add:
                    count = services.segment_members_add(segment=segment, subscribers=queryset, added_by=request.user)
                    self.message_user(request, f"{count} subscribers added to “{segment}”.", messages.SUCCESS)
                else:
                    count = services.segment_members_remove(segment=segment, subscribers=queryset)
                    self.message_user(request, f"{count} subscribers removed from “{segment}”.", messages.SUCCESS)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Add to segment" if add else "Remove from segment",
            "form": form,
            "queryset": queryset,
            "action": "add_to_segment" if add else "remove_from_segment",
            "opts": self.opts,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "content/admin/subscriber_segment_action.html", context)

    @admin.action(description="Add selected subscribers to a segment")
    def add_to_segment(self, request, queryset):
        return self._segment_action(request, queryset, add=True)

    @admin.action(description="Remove selected subscribers from a segment")
    def remove_from_segment(self, request, queryset):
        return self._segment_action(request, queryset, add=False)

    @row_action(
        description="Mark selected subscribers unsubscribed", things="subscriber", done="{things} unsubscribed."
    )
    def mark_unsubscribed(self, request, subscriber):
        return bool(services.subscriber_unsubscribe(email=subscriber.email, reason="staff"))

    @row_action(
        description="Resend the confirmation email to selected pending subscribers",
        things="pending subscriber",
        rows=lambda subscribers: subscribers.filter(status="pending"),
        done="Confirmation resent where due ({things}).",
    )
    def resend_confirmation(self, request, subscriber):
        return services.subscriber_subscribe(email=subscriber.email)

    @admin.action(description="Recompute engagement scores (all subscribers)")
    def recompute_engagement(self, request, queryset):
        changed = services.subscriber_engagement_recompute()
        self.message_user(request, f"Engagement recomputed; {changed} scores changed.", messages.SUCCESS)


@admin.register(SubscriberSegment)
class SubscriberSegmentAdmin(CountColumnsMixin, ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "member_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SegmentMemberInline]
    form = SegmentAdminForm

    member_count = count_column("memberships", "manual members")

    def save_formset(self, request, form, formset, change):
        for member in formset.save(commit=False):
            member.added_by = member.added_by or request.user
            member.save()
        for deleted in formset.deleted_objects:
            deleted.delete()


@admin.register(SubscriberSegmentMember)
class SubscriberSegmentMemberAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ["subscriber", "segment", "added_by", "created_at"]
    list_filter = ["segment"]
    search_fields = ["subscriber__email", "segment__name"]
    raw_id_fields = ["subscriber"]
    readonly_fields = ["added_by", "created_at"]
    list_select_related = ["subscriber", "segment", "added_by"]

    def save_model(self, request, obj, form, change):
        obj.added_by = obj.added_by or request.user
        super().save_model(request, obj, form, change)


def practice_zone() -> zoneinfo.ZoneInfo:
    """The practice's time zone, in which staff type a campaign's "send at"."""
    return zoneinfo.ZoneInfo(settings.BLOOM_PRACTICE_TIME_ZONE)


class CampaignAdminForm(forms.ModelForm):
    """Merge tags are checked field by field and scheduling is refused while the audience is
    empty (what was typed kept). "Send at" is typed and shown in the practice's time zone."""

    class Meta:
        model = NewsletterCampaign
        fields = ["subject", "preheader", "body_html", "segment", "scheduled_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = practice_zone()
        if "scheduled_at" in self.fields:
            field = self.fields["scheduled_at"]
            field.label = "Send at"
            field.help_text = (
                f"In the practice's time zone ({zone.key}). Leave empty to keep a draft; "
                "the campaign goes out within a minute of this time."
            )
            if self.instance.scheduled_at:
                # Shown as the practice's wall-clock time, whatever zone the reader is in.
                self.initial["scheduled_at"] = timezone.localtime(self.instance.scheduled_at, zone).replace(tzinfo=None)
        if "body_html" in self.fields:
            self.fields["body_html"].help_text = (
                "HTML; unsafe markup is removed on save. Merge tags: "
                + ", ".join(f"{{{{ {name} }}}} ({meaning})" for name, meaning in MERGE_TAGS.items())
                + '. Give a fallback like {{ first_name|default:"there" }}.'
            )

    def full_clean(self):
        # The typed "send at" is read in the practice's zone, not the reader's.
        with timezone.override(practice_zone()):
            super().full_clean()

    def clean(self):
        cleaned = super().clean()
        for field in ("subject", "preheader", "body_html"):
            for message in merge_tag_errors(cleaned.get(field)):
                self.add_error(field, message)
        if cleaned.get("scheduled_at") and "segment" not in self.errors:
            try:
                services.campaign_audience_check(segment=cleaned.get("segment"))
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(NewsletterCampaign)
class NewsletterCampaignAdmin(WorkflowAdminMixin, ConstraintErrorsMixin, AdminViewsMixin, admin.ModelAdmin):
    form = CampaignAdminForm
    admin_views = [
        ("<uuid:object_id>/send/", "send_view", "send"),
        ("<uuid:object_id>/test-send/", "test_send_view", "test_send"),
        ("<uuid:object_id>/unschedule/", "unschedule_view", "unschedule"),
    ]
    list_display = ["subject", "status", "segment", "scheduled_at", "sent_at", "recipients_count"]
    list_filter = ["status", "segment"]
    search_fields = ["subject", "preheader"]
    list_select_related = ["segment"]
    readonly_fields = [
        "status",
        "send_started_at",
        "sent_at",
        "recipients_count",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fields = ["subject", "preheader", "body_html", "segment", "scheduled_at", *readonly_fields]
    change_form_template = "content/admin/campaign_change_form.html"
    actions = ["send_campaigns", "test_send", "cancel_campaigns", "export_csv"]

    @admin.action(
        description="Export selected campaigns as CSV (with opens, clicks, unsubscribes, bounces)",
        permissions=["export"],
    )
    def export_csv(self, request, queryset):
        return _csv_response(subscriber_csv.campaign_csv_export(campaigns=queryset), "campaigns")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("content.export_newslettercampaign")

    def get_readonly_fields(self, request, obj=None):
        # Scheduling is sending later: only roles that may send set the time.
        fields = super().get_readonly_fields(request, obj)
        return fields if self.has_send_permission(request) else [*fields, "scheduled_at"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.campaign_save(campaign=obj, user=request.user)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(_campaign_report_context(obj))
            if self.has_send_permission(request):
                context["send_url"] = reverse("admin:content_newslettercampaign_send", args=[obj.pk])
            context["test_send_url"] = reverse("admin:content_newslettercampaign_test_send", args=[obj.pk])
            context["recipient_count_now"] = selectors.segment_recipient_list(segment=obj.segment).count()
            context["cancel_schedule_url"] = reverse("admin:content_newslettercampaign_unschedule", args=[obj.pk])
            context["reader_zone"] = timezone.get_current_timezone_name()
            context["practice_zone"] = practice_zone().key
            context.update(_campaign_preview_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def unschedule_view(self, request, object_id):
        """POST: take a scheduled campaign back to draft (its content kept)."""
        campaign = get_object_or_404(NewsletterCampaign, pk=object_id)
        if request.method != "POST" or not request.user.has_perm("content.change_newslettercampaign"):
            raise PermissionDenied
        try:
            services.campaign_unschedule(campaign=campaign)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.log_change(request, campaign, "Schedule cancelled: a draft again.")
            self.message_user(request, f"“{campaign}” is a draft again; nothing was sent.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:content_newslettercampaign_change", args=[campaign.pk]))

    def send_view(self, request, object_id):
        """Confirmation page; the POST starts the send in the background and returns at once."""
        campaign = get_object_or_404(NewsletterCampaign.objects.select_related("segment"), pk=object_id)
        if not self.has_send_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:content_newslettercampaign_change", args=[campaign.pk])
        if request.method == "POST":
            try:
                services.campaign_send_start(campaign=campaign)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"“{campaign}” is being sent in the background.", messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send “{campaign.subject}”?",
            "campaign": campaign,
            "recipients": selectors.segment_recipient_list(segment=campaign.segment).count(),
            "change_url": change_url,
            "opts": self.opts,
        }
        return TemplateResponse(request, "content/admin/campaign_send_confirm.html", context)

    def test_send_view(self, request, object_id):
        campaign = get_object_or_404(NewsletterCampaign, pk=object_id)
        if request.method != "POST" or not request.user.has_perm("content.view_newslettercampaign"):
            raise PermissionDenied
        row = services.campaign_test_send(campaign=campaign, user=request.user)
        if row is None:
            self.message_user(
                request, f"The test email to {request.user.email} was refused (suppressed address?).", messages.WARNING
            )
        else:
            self.message_user(request, f"Test email queued to {request.user.email}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:content_newslettercampaign_change", args=[campaign.pk]))

    def has_send_permission(self, request) -> bool:
        """Sending (now or scheduled) reaches every subscriber of the segment: a manager's decision."""
        return request.user.has_perm("content.send_newslettercampaign")

    @admin.action(description="Send selected campaigns (asks to confirm)", permissions=["send"])
    def send_campaigns(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one campaign at a time to send.", messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:content_newslettercampaign_send", args=[queryset.get().pk]))

    @row_action(
        description="Send a test of the selected campaigns to me",
        things=("test email", "test emails"),
        done="{things} queued to your own address.",
        unchanged="{things} refused (is your address suppressed?).",
    )
    def test_send(self, request, campaign):
        return services.campaign_test_send(campaign=campaign, user=request.user) is not None

    @row_action(description="Cancel selected campaigns", things="campaign", done="{things} cancelled.")
    def cancel_campaigns(self, request, campaign):
        return services.campaign_cancel(campaign=campaign)


PREVIEW_MATCHES = 10


def _campaign_preview_context(request, campaign: NewsletterCampaign) -> dict:
    """The change page's inline preview: confirmed subscribers matching `?preview=` (an email
    search), and the campaign rendered for the chosen one (`?subscriber=<id>`, else the first
    match) exactly as it would be sent."""
    if not request.user.has_perm("content.view_subscriber"):
        # Searching subscribers by email is subscriber data; she sends a test to herself instead.
        return {"preview_query": "", "preview_closed": True}
    query = request.GET.get("preview", "").strip()
    chosen_id = request.GET.get("subscriber", "").strip()
    if not query and not chosen_id:
        return {"preview_query": ""}
    confirmed = selectors.segment_recipient_list(segment=campaign.segment).only("id", "email", "first_name")
    matches = list(confirmed.filter(email__icontains=query)[:PREVIEW_MATCHES]) if query else []
    chosen = None
    if chosen_id:
        try:
            chosen = confirmed.filter(pk=chosen_id).first()
        except ValidationError:
            chosen = None
    chosen = chosen or (matches[0] if matches else None)
    return {
        "preview_query": query or (chosen.email if chosen else ""),
        "preview_searched": True,
        "preview_matches": matches,
        "preview_subscriber": chosen,
        "preview": services.campaign_preview(campaign=campaign, subscriber=chosen) if chosen else None,
    }


def _campaign_report_context(campaign: NewsletterCampaign) -> dict:
    """Context for notifications' `_campaign_report.html` partial."""
    return {"campaign_report": campaign_metrics_summary(campaign_id=campaign.pk)}


# --- Analytics ------------------------------------------------------------------------------


@admin.register(AnalyticsEvent)
class AnalyticsEventAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = ["created_at", "event_name", "category", "path", "session_id", "user", "blog_post"]
    list_filter = ["category", "created_at"]
    search_fields = search_exact = ["session_id"]  # matched whole: idx_analytics_events_session serves it
    search_help_text = "A visitor's session id, whole (the category and date filters narrow the rest)."
    list_select_related = ["user", "blog_post"]
    # No date hierarchy: its first level is a DISTINCT over every event's year (2 M rows at
    # 100x); the created_at filter covers today to this year.


# --- Contact form ---------------------------------------------------------------------------


@admin.register(ContactSubmission)
class ContactSubmissionAdmin(AuditedReadMixin, ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ["created_at", "name", "email", "subject", "status", "handled_by"]
    list_filter = ["status", "created_at"]
    search_fields = ["name", "email", "subject"]
    list_select_related = ["handled_by"]
    readonly_fields = [
        "name",
        "email",
        "phone",
        "subject",
        "message",
        "ip_address",
        "handled_by",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    fields = ["status", *readonly_fields]
    actions = ["mark_in_progress", "mark_closed"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        services.contact_submission_status_set(submission=obj, status=obj.status, user=request.user)

    @row_action(description="Mark selected messages in progress", things="message", done="{things} in progress.")
    def mark_in_progress(self, request, submission):
        return services.contact_submission_status_set(
            submission=submission, status=ContactStatus.IN_PROGRESS, user=request.user
        )

    @row_action(description="Close selected messages", things="message", done="{things} closed.")
    def mark_closed(self, request, submission):
        return services.contact_submission_status_set(
            submission=submission, status=ContactStatus.CLOSED, user=request.user
        )


# --- Careers --------------------------------------------------------------------------------


@admin.register(JobPosting)
class JobPostingAdmin(CountColumnsMixin, SoftDeleteAdmin):
    list_display = ["title", "employment_type", "location", "is_open", "closes_at", "application_count", "archived_at"]
    list_filter = ["is_open", "employment_type", ArchivedFilter]
    search_fields = ["title", "slug", "location"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["archived_at"]
    things = "posting"
    archive_description = "Archive selected postings"
    restore_description = "Restore selected postings (closed until you reopen them)"
    restore_done = "{things} restored (closed until you reopen them)."

    application_count = count_column("applications", "applications")

    def save_model(self, request, obj, form, change):
        from bloom.sanitize import BLOG, sanitize_html

        obj.description = sanitize_html(obj.description, BLOG)
        super().save_model(request, obj, form, change)

    def delete_refusal(self, posting) -> str | None:
        if posting.applications.exists():
            return f"“{posting}” has applications and cannot be deleted; archive it instead."
        return None

    def archive_row(self, request, posting):
        # An archived posting is closed too: it takes no more applications.
        return bool(
            JobPosting.all_objects.filter(pk=posting.pk, archived_at__isnull=True).update(
                archived_at=timezone.now(), is_open=False
            )
        )


@admin.register(CareerApplication)
class CareerApplicationAdmin(AuditedReadMixin, AdminViewsMixin, ConstraintErrorsMixin, admin.ModelAdmin):
    admin_views = [
        ("<uuid:object_id>/cv/", "cv_view", "cv"),
    ]
    list_display = ["created_at", "full_name", "email", "job_posting", "status", "keep_on_file"]
    list_filter = ["status", "keep_on_file", "job_posting"]
    search_fields = ["full_name", "email"]
    list_select_related = ["job_posting"]
    readonly_fields = [
        "job_posting",
        "full_name",
        "email",
        "phone",
        "cover_letter",
        "cv_download",
        "keep_on_file",
        "ip_address",
        "created_at",
    ]
    fields = ["status", "staff_notes", *readonly_fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="CV")
    def cv_download(self, application):
        if not application.cv:
            return "-"
        url = reverse("admin:content_careerapplication_cv", args=[application.pk])
        return format_html('<a href="{}">Download {}</a>', url, application.cv_original_name or "CV")

    def cv_view(self, request, object_id):
        """CVs are only ever served here, to staff allowed to see applications."""
        application = get_object_or_404(CareerApplication, pk=object_id)
        if not self.has_view_permission(request, application) or not application.cv:
            raise PermissionDenied
        try:
            handle = application.cv.open("rb")
        except FileNotFoundError:
            change_url = reverse("admin:content_careerapplication_change", args=[application.pk])
            staff_alerts.stored_file_missing(
                obj=application,
                file_name=application.cv.name,
                description="the CV of a job application",
                admin_url=absolute_reverse("admin:content_careerapplication_change", application.pk),
            )
            self.message_user(
                request,
                "This application's CV file is missing from storage, so it cannot be downloaded. "
                "Please ask the applicant to send it again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        audit_read_record(obj=application, request=request, what="cv")  # the download is a read
        response = FileResponse(
            handle, as_attachment=True, filename=application.cv_original_name or application.cv.name.rsplit("/", 1)[-1]
        )
        response["Cache-Control"] = "private, no-store"
        return response


# --- Support chat ---------------------------------------------------------------------------


class ChatMessageInline(admin.TabularInline):
    """The thread, oldest first; the one empty row at the end is the reply box."""

    model = ChatMessage
    fields = ["created_at", "sender", "staff_user", "body"]
    readonly_fields = ["created_at", "sender", "staff_user"]
    extra = 1
    can_delete = False
    verbose_name = "message"
    verbose_name_plural = "Thread (type a reply in the empty row)"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChatConversation)
class ChatConversationAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "assigned_to", "last_message_at", "created_at"]
    list_filter = ["status", ("assigned_to", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["visitor_name", "visitor_email", "subject", "user__email"]
    list_select_related = ["assigned_to", "user"]
    raw_id_fields = ["user"]
    fields = [
        "user",
        "visitor_name",
        "visitor_email",
        "subject",
        "status",
        "assigned_to",
        "last_message_at",
        "closed_at",
        "created_at",
    ]
    readonly_fields = ["user", "visitor_name", "visitor_email", "last_message_at", "closed_at", "created_at"]
    inlines = [ChatMessageInline]
    actions = ["close_conversations", "assign_to_me"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The thread holds health information: every staff read is audited.
        conversation = self.get_object(request, object_id)
        if conversation is not None and request.method == "GET":
            health_read_record(staff_user=request.user, obj=conversation, request=request)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            obj.closed_at = timezone.now() if obj.status == ChatStatus.CLOSED else None
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # New rows typed by staff become staff replies through the service (which tells the writer).
        replies = formset.save(commit=False)
        for message in replies:
            services.chat_staff_reply(conversation=form.instance, body=message.body, staff_user=request.user)
        if replies and form.instance.status == ChatStatus.CLOSED:
            services.chat_conversation_close(conversation=form.instance)  # answered and closed in one save

    @row_action(description="Close selected conversations", things="conversation", done="{things} closed.")
    def close_conversations(self, request, conversation):
        return bool(services.chat_conversation_close(conversation=conversation))

    @row_action(description="Assign selected conversations to me", things="conversation", done="{things} assigned.")
    def assign_to_me(self, request, conversation):
        return bool(ChatConversation.objects.filter(pk=conversation.pk).update(assigned_to=request.user))


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnlyAdmin):
    list_display = ["conversation", "sender", "staff_user", "created_at"]
    list_filter = ["sender", "created_at"]
    search_fields = ["conversation__visitor_email", "conversation__visitor_name"]
    list_select_related = ["conversation", "staff_user"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = self.get_object(request, object_id)
        if message is not None:
            health_read_record(staff_user=request.user, obj=message, request=request)
        return super().change_view(request, object_id, form_url, extra_context)
