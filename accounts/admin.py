"""Back office for accounts. System-written rows (security events, sessions, audit trail) are read-only."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from bloom.admin import ReadOnlyAdmin

from .models import (
    AdminActivityLog,
    AdminRole,
    AdminRolePermission,
    AdminSession,
    AdminUser,
    ConsentRecord,
    DataRequest,
    DataRequestStatus,
    SecurityEvent,
    User,
    UserAchievement,
    UserPreferences,
    UserProfile,
    WellnessEntry,
)
from .services import (
    admin_user_role_set,
    data_request_process,
    data_request_reject,
    health_read_record,
    role_permissions_sync,
)


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "preferred_name", "stage", "email_verified", "onboarding_completed", "marketing_consent"]
    list_filter = ["stage", "email_verified", "onboarding_completed", "marketing_consent"]
    search_fields = ["user__email", "first_name", "last_name", "preferred_name"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["email_verified_at", "onboarding_completed_at", "created_at", "updated_at"]


@admin.register(UserPreferences)
class UserPreferencesAdmin(admin.ModelAdmin):
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
class WellnessEntryAdmin(admin.ModelAdmin):
    """Lists show scores only; opening an entry shows its notes and is written to the audit log."""

    list_display = ["user", "entry_date", "mood", "anxiety", "energy", "sleep_hours"]
    list_filter = ["entry_date", "mood"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    date_hierarchy = "entry_date"
    readonly_fields = ["user", "entry_date", "mood", "sleep_hours", "anxiety", "energy", "notes", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_permission(request, obj):
            health_read_record(staff_user=request.user, obj=obj, request=request)
        return super().change_view(request, object_id, form_url, extra_context)


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


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "severity", "user", "ip_address", "path"]
    list_filter = ["severity", "event_type", "created_at"]
    search_fields = ["event_type", "user__email", "ip_address", "path", "details"]
    list_select_related = ["user"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "granted", "source", "ip_address"]
    list_filter = ["kind", "granted", "source"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    list_display = ["requested_at", "user", "kind", "status", "completed_at", "processed_by"]
    list_filter = ["kind", "status"]
    search_fields = ["user__email"]
    list_select_related = ["user", "processed_by"]
    readonly_fields = ["user", "kind", "status", "requested_at", "completed_at", "processed_by"]
    exclude = ["export_data"]
    actions = ["process_requests", "reject_requests"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Carry out the selected requests (export / anonymise)", permissions=["change"])
    def process_requests(self, request, queryset):
        done = 0
        for data_request in queryset.filter(status=DataRequestStatus.PENDING):
            data_request_process(data_request=data_request, staff_user=request.user)
            self.log_change(request, data_request, [{"changed": {"fields": ["status"]}}, "carried out"])
            done += 1
        self.message_user(request, f"{done} request(s) carried out.", messages.SUCCESS)

    @admin.action(description="Reject the selected requests", permissions=["change"])
    def reject_requests(self, request, queryset):
        done = 0
        for data_request in queryset.filter(status=DataRequestStatus.PENDING):
            data_request_reject(data_request=data_request, staff_user=request.user, note="Rejected by staff")
            self.log_change(request, data_request, [{"changed": {"fields": ["status"]}}, "rejected"])
            done += 1
        self.message_user(request, f"{done} request(s) rejected.", messages.WARNING)
