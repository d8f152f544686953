"""Back office for accounts. System-written rows (security events, sessions, audit trail) are read-only."""

import json

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from bloom.admin import AuditedReadMixin, Confirm, ConfirmField, LargeTableMixin, ReadOnlyAdmin, row_action

from .admin_home import data_request_deadline_q
from .assignables import assignable_list
from .care_team import annotate_in_care
from .models import (
    AdminActivityLog,
    AdminRole,
    AdminRolePermission,
    AdminSession,
    AdminUser,
    AssignmentKind,
    CalendarFeed,
    CareAssignment,
    ConsentRecord,
    DataRequest,
    DataRequestStatus,
    MemberPause,
    MemberScreeningPoint,
    RiskAlert,
    RiskSource,
    ScreeningResponse,
    ScreeningSchedulePoint,
    SecurityEvent,
    User,
    UserAchievement,
    UserPreferences,
    UserProfile,
    WellnessEntry,
)
from .roles import alerts_reaching_q, risk_alerts_in_scope, staff_rows_in_scope
from .screening import INSTRUMENTS, week_label
from .selectors import care_assignment_progress_get, wellness_entry_staff_queryset
from .services import (
    admin_user_role_set,
    care_assignment_create,
    data_request_deadline,
    data_request_process,
    data_request_reject,
    health_read_record,
    role_permissions_sync,
)
from .services.screening import risk_alert_acknowledge


class HealthReadAuditMixin:
    """Opening a row that shows health information writes a `view_health` audit row (ADR 0011).

    Lists show no health text, so only the change (detail) page is a read. `health_read_shows`
    says whether this row's page shows any; by default every row's does.
    """

    def health_read_shows(self, obj) -> bool:
        return True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_permission(request, obj) and self.health_read_shows(obj):
            health_read_record(staff_user=request.user, obj=obj, request=request)
        return super().change_view(request, object_id, form_url, extra_context)


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(LargeTableMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)

    def get_queryset(self, request):
        return staff_rows_in_scope(super().get_queryset(request), staff_user=request.user, prefix="")


@admin.register(UserProfile)
class UserProfileAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = ["user", "preferred_name", "stage", "email_verified", "onboarding_completed", "marketing_consent"]
    # No filter on stage: it is encrypted (docs/adr/0330).
    list_filter = ["email_verified", "onboarding_completed", "marketing_consent"]
    search_fields = ["user__email", "first_name", "last_name", "preferred_name"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["email_verified_at", "onboarding_completed_at", "created_at", "updated_at"]

    def get_queryset(self, request):
        return staff_rows_in_scope(super().get_queryset(request), staff_user=request.user)


@admin.register(UserPreferences)
class UserPreferencesAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = ["user", "notification_channel", "appointment_reminders", "newsletter"]
    list_filter = ["notification_channel", "newsletter", "wellness_reminders"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(UserAchievement)
class UserAchievementAdmin(admin.ModelAdmin):
    list_display = ["user", "key", "title", "awarded_at"]
    list_filter = ["key"]
    search_fields = ["user__email", "key", "title"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(WellnessEntry)
class WellnessEntryAdmin(LargeTableMixin, HealthReadAuditMixin, admin.ModelAdmin):
    """Only check-ins she shares with her clinician now (and an entry whose note raised a risk
    alert); once she stops sharing, none are listed or opened. Lists show scores only; opening
    an entry shows its notes and is written to the audit log."""

    list_display = ["user", "entry_date", "mood", "anxiety", "energy", "support", "sleep_hours"]
    list_filter = ["entry_date"]  # the scores are encrypted (docs/adr/0330)
    search_fields = ["user__email"]
    list_select_related = ["user"]
    date_hierarchy = "entry_date"
    readonly_fields = [
        "user",
        "entry_date",
        "mood",
        "sleep_hours",
        "anxiety",
        "energy",
        "support",
        "notes",
        "created_at",
    ]

    def get_queryset(self, request):
        return wellness_entry_staff_queryset(super().get_queryset(request), staff_user=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AdminRolePermissionInline(admin.TabularInline):
    model = AdminRolePermission
    extra = 1
    raw_id_fields = ["permission"]


@admin.register(AdminRole)
class AdminRoleAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "group"]
    search_fields = ["name", "slug"]
    list_filter = ["created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AdminRolePermissionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        role_permissions_sync(role=form.instance)


@admin.register(AdminRolePermission)
class AdminRolePermissionAdmin(admin.ModelAdmin):
    list_display = ["role", "permission", "created_at"]
    list_filter = ["role"]
    search_fields = ["role__name", "permission__codename", "permission__name"]
    raw_id_fields = ["permission"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        role_permissions_sync(role=obj.role)

    def delete_model(self, request, obj):
        role = obj.role
        super().delete_model(request, obj)
        role_permissions_sync(role=role)

    def delete_queryset(self, request, queryset):
        roles = list(AdminRole.objects.filter(pk__in=queryset.values("role_id")))
        super().delete_queryset(request, queryset)
        for role in roles:
            role_permissions_sync(role=role)


@admin.register(AdminUser)
class AdminUserAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "role", "is_active", "two_factor_enabled", "last_login_at"]
    list_filter = ["role", "is_active", "two_factor_enabled"]
    search_fields = ["display_name", "user__email"]
    list_select_related = ["user", "role"]
    raw_id_fields = ["user"]
    readonly_fields = ["two_factor_enabled", "last_password_change", "last_login_at", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        role = obj.role
        super().save_model(request, obj, form, change)
        admin_user_role_set(admin_user=obj, role=role)


@admin.register(AdminSession)
class AdminSessionAdmin(ReadOnlyAdmin):
    list_display = ["admin_user", "ip_address", "created_at", "last_seen_at", "ended_at"]
    list_filter = ["created_at", "ended_at"]
    search_fields = ["admin_user__display_name", "admin_user__user__email", "ip_address"]
    list_select_related = ["admin_user"]


@admin.register(AdminActivityLog)
class AdminActivityLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "action", "object_type", "object_repr", "ip_address"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["user__email", "object_type", "object_id", "object_repr"]
    list_select_related = ["user"]


@admin.register(MemberPause)
class MemberPauseAdmin(LargeTableMixin, HealthReadAuditMixin, ReadOnlyAdmin):
    """Members' breaks: lists show the dates only; opening one shows why, and is audited."""

    list_display = ["user", "starts_at", "ends_at", "ended_at"]
    list_filter = ["starts_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "starts_at", "ends_at", "ended_at", "reason", "created_at"]

    def get_queryset(self, request):
        return staff_rows_in_scope(super().get_queryset(request), staff_user=request.user)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "severity", "user", "ip_address", "path"]
    list_filter = ["severity", "event_type", "created_at"]
    search_fields = ["event_type", "user__email", "ip_address", "path", "details"]
    list_select_related = ["user"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "email", "kind", "granted", "source", "text_version", "ip_address"]
    list_filter = ["kind", "granted", "source"]
    search_fields = ["user__email", "email"]
    list_select_related = ["user"]


# Data request actions act on pending requests only; the others are already decided.
_PENDING = {
    "permissions": ["change"],
    "things": "request",
    "rows": lambda requests: requests.filter(status=DataRequestStatus.PENDING),
}


class DataRequestDeadlineFilter(admin.SimpleListFilter):
    """Pending requests by their deadline, one month after asking (the admin home links here)."""

    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Past the deadline"),
            ("soon", f"Due within {settings.BLOOM_DATA_REQUEST_REMINDER_DAYS} days"),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("overdue", "soon"):
            return queryset.filter(data_request_deadline_q(self.value()))
        return queryset


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    list_display = ["requested_at", "user", "kind", "status", "deadline", "completed_at", "processed_by"]
    list_filter = ["kind", "status", DataRequestDeadlineFilter]
    search_fields = ["user__email"]
    list_select_related = ["user", "processed_by"]
    readonly_fields = ["user", "kind", "status", "requested_at", "deadline", "completed_at", "processed_by"]
    exclude = ["export_data"]
    actions = ["process_requests", "reject_requests"]

    @admin.display(description="Answer by (GDPR: one month)")
    def deadline(self, obj):
        """The deadline and days left; pending requests past it are flagged overdue in red."""
        due = timezone.localdate(data_request_deadline(data_request=obj))
        if obj.status != DataRequestStatus.PENDING:
            return f"{due:%-d %b %Y}"
        days = (due - timezone.localdate()).days
        if days < 0:
            return format_html(
                '<strong style="color:#b00020">{} — overdue by {} day(s)</strong>', f"{due:%-d %b %Y}", -days
            )
        style = "color:#b35c00;font-weight:bold" if days <= settings.BLOOM_DATA_REQUEST_REMINDER_DAYS else ""
        return format_html('<span style="{}">{} — {} day(s) left</span>', style, f"{due:%-d %b %Y}", days)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @row_action(
        description="Carry out the selected requests (export / erase)…",
        done="{things} carried out.",
        confirm=Confirm(
            title="Carry out these data requests?",
            button="Yes, carry them out",
            intro=(
                "An export gathers everything Bloom holds about the member into a download she can fetch once "
                "signed in, and emails her that it is ready. An erasure deletes or anonymises her information "
                "in every part of Bloom, her files and the mentions of her in payment and booking messages; "
                "payment and clinical records the law makes us keep stay, without her contact details. "
                "Erasure cannot be undone. She is emailed when it is done."
            ),
            columns=[
                ("Member", lambda r: r.user),
                ("Request", lambda r: r.get_kind_display()),
                (
                    "What will happen",
                    lambda r: "Export her data" if r.kind == "export" else "Erase her — cannot be undone",
                ),
                ("Answer by", lambda r: f"{timezone.localdate(data_request_deadline(data_request=r)):%-d %b %Y}"),
            ],
            related=["user"],
        ),
        **_PENDING,
    )
    def process_requests(self, request, data_request):
        data_request_process(data_request=data_request, staff_user=request.user)
        self.log_change(request, data_request, [{"changed": {"fields": ["status"]}}, "carried out"])

    @row_action(description="Reject the selected requests", done="{things} rejected.", **_PENDING)
    def reject_requests(self, request, data_request):
        data_request_reject(data_request=data_request, staff_user=request.user, note="Rejected by staff")
        self.log_change(request, data_request, [{"changed": {"fields": ["status"]}}, "rejected"])


# --- Screening and the "needs attention" queue (docs/adr/0100-0104) -------------------------


@admin.register(ScreeningSchedulePoint)
class ScreeningSchedulePointAdmin(admin.ModelAdmin):
    """Where on the perinatal timeline each questionnaire is offered; members reach points by week."""

    list_display = ["name", "stage", "week", "instrument", "window_weeks", "is_active"]
    list_filter = ["stage", "instrument", "is_active"]
    search_fields = ["name"]


@admin.register(ScreeningResponse)
class ScreeningResponseAdmin(HealthReadAuditMixin, ReadOnlyAdmin):
    """Scores for the care team; her answers to each question only when she shared them, and
    each look at shared answers is written to the audit log."""

    list_display = ["taken_at", "user", "instrument", "total", "band", "urgent", "when", "shared_with_clinician"]
    list_filter = ["instrument", "urgent", "shared_with_clinician"]  # stage is encrypted (docs/adr/0330)
    search_fields = ["user__email"]
    list_select_related = ["user"]
    date_hierarchy = "taken_at"
    # `answers` itself is never a field here: `shared_answers` shows them, or says they are private.
    fields = [
        "user",
        "instrument",
        "taken_at",
        "total",
        "band",
        "urgent",
        "perinatal_stage",
        "perinatal_week",
        "shared_with_clinician",
        "shared_answers",
    ]
    readonly_fields = fields

    @admin.display(description="On her timeline")
    def when(self, obj):
        return week_label(obj.perinatal_stage, obj.perinatal_week) or "—"

    def get_queryset(self, request):
        # Her own clients' results, and a result whose alert reached her (crisis routing needs the score).
        alerted = RiskAlert.objects.filter(alerts_reaching_q(staff_user=request.user)).values("screening_response")
        queryset = staff_rows_in_scope(super().get_queryset(request), staff_user=request.user, also=Q(pk__in=alerted))
        return annotate_in_care(queryset, staff_user=request.user)

    @admin.display(description="Her answers")
    def shared_answers(self, obj):
        if not obj.shared_with_clinician:
            return "Not shared: the member keeps her answers to each question private."
        if not getattr(obj, "in_care", False):
            return "Shared with her own clinicians only: you are not in her care team."
        questionnaire = INSTRUMENTS[obj.instrument]
        answers = json.loads(obj.answers)
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            "{}. {}: <strong>{}</strong> ({} point(s))",
            (
                (
                    item.number,
                    item.text,
                    item.options[answers[str(item.number)]],
                    item.scores[answers[str(item.number)]],
                )
                for item in questionnaire.items
            ),
        )

    def health_read_shows(self, obj) -> bool:
        # Only shared answers her care team may read are health reads; a score alone is not.
        return obj.shared_with_clinician and getattr(obj, "in_care", False)


@admin.register(MemberScreeningPoint)
class MemberScreeningPointAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = ["reached_at", "user", "point", "status", "reminded_at"]
    list_filter = ["status", "point"]
    search_fields = ["user__email"]
    list_select_related = ["user", "point"]

    def get_queryset(self, request):
        return staff_rows_in_scope(super().get_queryset(request), staff_user=request.user)


class RiskAlertStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "Waiting for a clinician"), ("escalated", "Escalated to the owner"), ("done", "Acknowledged")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "escalated":
            return queryset.filter(acknowledged_at__isnull=True, escalated_at__isnull=False)
        if self.value() == "done":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


@admin.register(RiskAlert)
class RiskAlertAdmin(AuditedReadMixin, admin.ModelAdmin):
    """The "needs attention" queue: open alerts first; a clinician acknowledges them (audited)."""

    list_display = ["created_at", "user", "source", "reason", "assigned_clinician", "status", "acknowledged_by"]
    list_filter = [RiskAlertStatusFilter, "source"]
    search_fields = ["user__email"]
    list_select_related = ["user", "assigned_clinician", "acknowledged_by"]
    ordering = [F("acknowledged_at").asc(nulls_first=True), "-created_at"]
    readonly_fields = [
        "user",
        "source",
        "reason",
        "source_link",
        "created_at",
        "assigned_clinician",
        "escalated_at",
        "acknowledged_by",
        "acknowledged_at",
        "acknowledgement_note",
    ]
    fields = readonly_fields
    actions = ["acknowledge"]

    def get_queryset(self, request):
        return risk_alerts_in_scope(super().get_queryset(request), staff_user=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # An alert's own page is read-only; "change" is the permission to acknowledge (the action).
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_acknowledge": self.has_change_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Status")
    def status(self, obj):
        return _alert_status(obj)

    @admin.display(description="Where to read it")
    def source_link(self, obj):
        if obj.screening_response_id:
            url = reverse("admin:accounts_screeningresponse_change", args=[obj.screening_response_id])
            return format_html('<a href="{}">The screening result</a>', url)
        if obj.source == RiskSource.WELLNESS_NOTE and obj.source_object_id:
            url = reverse("admin:accounts_wellnessentry_change", args=[obj.source_object_id])
            return format_html('<a href="{}">The wellness entry (opening it is audited)</a>', url)
        if obj.source == RiskSource.CHAT and obj.source_object_id:
            url = reverse("admin:content_chatconversation_change", args=[obj.source_object_id])
            return format_html('<a href="{}">The conversation (opening it is audited)</a>', url)
        return "—"

    @row_action(
        description="Acknowledge: I am taking care of this",
        permissions=["change"],
        things="alert",
        done="{things} acknowledged.",
        unchanged="{things} had already been acknowledged and were left as they were.",
        confirm=Confirm(
            title="Acknowledge these alerts?",
            button="Yes, I am taking care of them",
            intro="Acknowledging says you are taking care of these members now: contact them, or hand over to a "
            "colleague who will. Your name and the time are recorded in the audit log. Members whose alert is "
            "acknowledged are not escalated to the owner.",
            columns=[
                ("Raised", lambda alert: date_format(timezone.localtime(alert.created_at), "j M Y H:i")),
                ("Member", lambda alert: alert.user.email),
                ("Why", lambda alert: alert.reason),
                ("Status", lambda alert: _alert_status(alert, done="Already acknowledged")),
            ],
            related=["user"],
            field=ConfirmField(name="note", label="Note for the record (optional; no clinical detail needed here)"),
        ),
    )
    def acknowledge(self, request, alert, *, note: str):
        return risk_alert_acknowledge(alert=alert, staff_user=request.user, note=note, request=request)


def _alert_status(alert, *, done: str = "Acknowledged") -> str:
    if alert.acknowledged_at is not None:
        return done
    return "Escalated, waiting" if alert.escalated_at is not None else "Waiting"


class CareAssignmentForm(forms.ModelForm):
    """Suggest one published lesson, course or workshop to a client, with a note for her."""

    item = forms.ChoiceField(label="What to suggest")

    class Meta:
        model = CareAssignment
        fields = ["user", "item", "note"]
        labels = {"user": "Client", "note": "A note for her (she sees it on her dashboard)"}
        widgets = {"note": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "Choose a lesson, course or workshop")] + [
            (
                AssignmentKind(assignable.kind).label,
                [(f"{assignable.kind}:{pk}", label) for pk, label in assignable.choices()],
            )
            for assignable in assignable_list()
        ]

    def clean_user(self):
        member = self.cleaned_data["user"]
        if member.is_staff:
            raise forms.ValidationError("Suggestions are for clients, not staff.")
        return member

    def clean_item(self):
        kind, _, object_id = self.cleaned_data["item"].partition(":")
        self.cleaned_data["kind"], self.cleaned_data["object_id"] = kind, object_id
        return self.cleaned_data["item"]


@admin.register(CareAssignment)
class CareAssignmentAdmin(HealthReadAuditMixin, admin.ModelAdmin):
    """What clinicians suggested to clients. Her progress shows only while she shares it; opening
    one (its note) is audited."""

    form = CareAssignmentForm
    list_display = ["user", "title", "kind", "clinician", "created_at", "progress"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__email", "title"]
    list_select_related = ["user", "clinician"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "kind", "title", "clinician", "note", "created_at", "archived_at", "progress"] if obj else []

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else ["user", "item", "note"]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def get_queryset(self, request):
        mine = Q(clinician=request.user)
        return annotate_in_care(super().get_queryset(request), staff_user=request.user, also=mine)

    @admin.display(description="Her progress")
    def progress(self, obj):
        if not getattr(obj, "in_care", False):
            return "Her care team only"
        item = care_assignment_progress_get(assignment=obj)
        return item.progress if item is not None else "Not shared"

    def save_model(self, request, obj, form, change):
        created = care_assignment_create(
            clinician=request.user,
            member=form.cleaned_data["user"],
            kind=form.cleaned_data["kind"],
            object_id=form.cleaned_data["object_id"],
            note=form.cleaned_data.get("note", ""),
        )
        obj.pk, obj.kind, obj.title, obj.clinician = created.pk, created.kind, created.title, created.clinician
        obj._state.adding = False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    """Which members have a private calendar link on (only its hash is stored, never the link)."""

    list_display = ["user", "created_at", "rotated_at"]
    list_filter = ["created_at", "rotated_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    exclude = ["token_hash"]


from . import admin_invitations  # noqa: E402, F401  staff onboarding (accounts/admin_invitations.py)
