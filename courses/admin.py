"""Back office for courses: edit courses with modules and lessons inline, publish, archive, compare versions.

Catalog rows are archived rather than deleted; a course that members hold cannot be
deleted (the admin says why). Rows the system writes (enrollments, progress, activity,
milestones, the two views) are read-only.
"""

from __future__ import annotations

import difflib
import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from bloom.admin import (
    AdminViewsMixin,
    ArchivedFilter,
    Confirm,
    ConfirmField,
    ConstraintErrorsMixin,
    CountColumnsMixin,
    DeleteGuardMixin,
    LargeTableMixin,
    ReadOnlyAdmin,
    SoftDeleteAdmin,
    count_column,
    plural,
    row_action,
)
from bloom.admin_workflow import WorkflowAdminMixin
from bloom.exceptions import ApplicationError

from . import services
from .content import SLIDE_SEPARATOR, slides_from_html, slides_to_html
from .models import (
    Course,
    CourseActivityLog,
    CourseCertificate,
    CourseContentVersion,
    CourseDiscountCode,
    CourseEnrollment,
    CourseLesson,
    CourseMilestone,
    CourseModule,
    CourseOverview,
    CourseProgress,
    CourseResource,
    CourseUser,
    LessonCompletionDetail,
    PublishStatus,
    UserCourseStats,
)

# --- Courses --------------------------------------------------------------------------


class ModuleInline(admin.TabularInline):
    model = CourseModule
    fields = ("position", "title", "drip_days", "archived_at")
    readonly_fields = ("archived_at",)
    ordering = ("position",)
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return CourseModule.all_objects.order_by("position", "created_at")


class ResourceInline(admin.TabularInline):
    model = CourseResource
    fk_name = "course"
    fields = ("position", "title", "lesson", "file", "archived_at")
    readonly_fields = ("archived_at",)
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return CourseResource.all_objects.select_related("lesson")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lesson":
            course_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = CourseLesson.objects.filter(module__course_id=course_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _published_lessons():
    """Course.published_lesson_count() for every row of a queryset in its one query (a subquery,
    so it does not multiply with the changelist's enrollment count)."""
    lessons = (
        CourseLesson.objects.filter(
            module__course=OuterRef("pk"), module__archived_at__isnull=True, status=PublishStatus.PUBLISHED
        )
        .order_by()
        .values("module__course")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(lessons), 0)


@admin.register(Course)
class CourseAdmin(WorkflowAdminMixin, CountColumnsMixin, SoftDeleteAdmin):
    list_display = ("title", "status", "price", "currency", "enrollment_count", "archived_at", "position")
    list_filter = ("status", ArchivedFilter)
    search_fields = ("title", "slug", "instructor_name")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("published_at", "archived_at", "created_at", "updated_at")
    fields = (
        "title",
        "slug",
        "subtitle",
        "description",
        "instructor_name",
        ("price", "currency"),
        "status",
        "position",
        "published_at",
        "archived_at",
    )
    inlines = [ModuleInline, ResourceInline]
    actions = ["publish", "unpublish", "archive", "restore"]

    enrollment_count = count_column("enrollments", "Enrollments")

    def view_on_site(self, obj):
        # "Preview as a member": staff see drafts and archived courses on the site with a banner.
        return reverse("courses:course_detail", args=[obj.slug])

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.course_progress_recompute(course_id=form.instance.pk)

    @row_action(
        description="Publish selected courses",
        done="{things} published.",
        rows=lambda courses: courses.annotate(published_lessons=_published_lessons()),
        confirm=Confirm(
            title="Publish these courses?",
            button="Yes, publish",
            intro=(
                "Members will see them in the catalog and can enroll (and pay) at once. "
                "A course without a published lesson is refused."
            ),
            columns=[
                ("Course", str),
                ("Status", lambda course: course.get_status_display()),
                ("Published lessons", lambda course: course.published_lessons),
                ("Price", lambda course: course.price),
            ],
        ),
    )
    def publish(self, request, course):
        was_published = course.is_published
        services.course_publish(course=course)
        if was_published:
            return False
        self.log_change(request, course, "Published")  # mirrored into admin_activity_log
        return course

    @row_action(description="Move selected courses back to draft", done="{things} moved to draft.")
    def unpublish(self, request, course):
        return services.course_unpublish(course=course)

    archive_description = "Archive selected courses (members keep access)"
    restore_description = "Restore selected courses from the archive"
    archive_done = "{things} archived: hidden from the catalog; enrollments are untouched."

    def archive_row(self, request, course):
        return services.course_archive(course=course)

    def restore_row(self, request, course):
        return services.course_restore(course=course)

    def delete_refusal(self, course) -> str | None:
        count = course.enrollments.count()
        if not count:
            return None
        return (
            f'"{course.title}" cannot be deleted: {plural(count, "member enrollment")} point at it. '
            "Archive it instead: it leaves the catalog and members keep their access."
        )

    def delete_model(self, request, obj):
        try:
            services.course_delete(course=obj)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)


class LessonInline(admin.TabularInline):
    model = CourseLesson
    fields = ("position", "title", "status", "is_preview", "duration_minutes", "archived_at")
    readonly_fields = ("archived_at",)
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return CourseLesson.all_objects.order_by("position", "created_at")


@admin.register(CourseModule)
class CourseModuleAdmin(WorkflowAdminMixin, SoftDeleteAdmin):
    list_display = ("title", "course", "position", "drip_days", "archived_at")
    list_filter = (ArchivedFilter, "course")
    search_fields = ("title", "course__title")
    list_select_related = ("course",)
    readonly_fields = ("archived_at",)
    inlines = [LessonInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not CourseLesson:
            return super().save_formset(request, form, formset, change)
        for lesson in formset.save(commit=False):
            services.lesson_save(lesson=lesson, changed_by=request.user, change_summary="Edited in the module page")
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.course_progress_recompute(course_id=form.instance.course_id)

    things = "module"
    archive_description = "Archive selected modules"
    restore_description = "Restore selected modules"
    archive_done = "{things} archived. Completions and certificates already earned are kept."

    def archive_row(self, request, module):
        changed = super().archive_row(request, module)
        services.course_progress_recompute(course_id=module.course_id)
        return changed

    def restore_row(self, request, module):
        changed = super().restore_row(request, module)
        services.course_progress_recompute(course_id=module.course_id)
        return changed


class LessonAdminForm(forms.ModelForm):
    slides_html = forms.CharField(
        label="Slides",
        required=False,
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100}),
        help_text=f"HTML. Put {SLIDE_SEPARATOR} on its own line between slides. Scripts, event handlers and "
        "javascript: links are removed when you save.",
    )

    class Meta:
        model = CourseLesson
        fields = ("module", "title", "summary", "video_url", "duration_minutes", "position", "is_preview", "status")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slides_html"].initial = slides_to_html(self.instance.slides or [])

    def save(self, commit=True):
        self.instance.slides = slides_from_html(self.cleaned_data.get("slides_html", ""))
        return super().save(commit=commit)


class LessonResourceInline(admin.TabularInline):
    model = CourseResource
    fk_name = "lesson"
    fields = ("position", "title", "course", "file")
    extra = 0
    can_delete = False


@admin.register(CourseLesson)
class CourseLessonAdmin(WorkflowAdminMixin, AdminViewsMixin, SoftDeleteAdmin):
    admin_views = [
        ("<uuid:lesson_id>/versions/compare/", "compare_view", "compare"),
        ("<uuid:lesson_id>/versions/<uuid:version_id>/restore/", "restore_view", "restore"),
    ]
    form = LessonAdminForm
    list_display = ("title", "module", "course_title", "position", "status", "is_preview", "archived_at")
    list_filter = ("status", "is_preview", ArchivedFilter, "module__course")
    search_fields = ("title", "module__title", "module__course__title")
    list_select_related = ("module__course",)
    readonly_fields = ("version_history",)
    fields = (
        "module",
        "title",
        "summary",
        "slides_html",
        "video_url",
        ("duration_minutes", "position"),
        ("is_preview", "status"),
        "version_history",
    )
    actions = ["publish", "archive", "restore"]

    @admin.display(description="Course")
    def course_title(self, obj) -> str:
        return obj.module.course.title

    def view_on_site(self, obj):
        return reverse("courses:lesson_detail", args=[obj.module.course.slug, obj.pk])

    def save_model(self, request, obj, form, change):
        try:
            services.lesson_save(lesson=obj, changed_by=request.user, change_summary="Edited in the lesson page")
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.display(description="Versions")
    def version_history(self, obj):
        if obj is None or obj.pk is None:
            return "Saved versions appear here."
        versions = list(obj.versions.select_related("changed_by").order_by("-version_number")[:20])
        if not versions:
            return "No versions yet."
        rows = []
        for i, version in enumerate(versions):
            previous = versions[i + 1] if i + 1 < len(versions) else None
            compare = (
                format_html(
                    '<a href="{}?a={}&b={}">compare with v{}</a>',
                    reverse("admin:courses_courselesson_compare", args=[obj.pk]),
                    previous.pk,
                    version.pk,
                    previous.version_number,
                )
                if previous
                else ""
            )
            restore = reverse("admin:courses_courselesson_restore", args=[obj.pk, version.pk])
            rows.append(
                (
                    version.version_number,
                    version.created_at.strftime("%Y-%m-%d %H:%M"),
                    version.changed_by or "system",
                    version.change_summary,
                    compare,
                    restore,
                )
            )
        return format_html(
            "<table><tr><th>Version</th><th>When</th><th>Who</th><th>What</th><th></th><th></th></tr>{}</table>",
            format_html_join(
                "",
                '<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">restore…</a></td></tr>',
                rows,
            ),
        )

    @staticmethod
    def _lines(version: CourseContentVersion) -> list[str]:
        snapshot = dict(version.snapshot)
        slides = snapshot.pop("slides", []) or []
        lines = [f"{key}: {json.dumps(value)}" for key, value in sorted(snapshot.items())]
        for number, slide in enumerate(slides, start=1):
            lines.append(f"--- slide {number} ---")
            lines.extend(slide.splitlines())
        return lines

    def compare_view(self, request, lesson_id):
        lesson = get_object_or_404(CourseLesson.all_objects, pk=lesson_id)
        if not self.has_view_permission(request, lesson):
            raise Http404
        versions = {
            str(v.pk): v for v in lesson.versions.filter(pk__in=request.GET.getlist("a") + request.GET.getlist("b"))
        }
        a, b = versions.get(request.GET.get("a", "")), versions.get(request.GET.get("b", ""))
        if a is None or b is None:
            raise Http404("Pick two versions of this lesson.")
        table = difflib.HtmlDiff(wrapcolumn=80).make_table(
            self._lines(a), self._lines(b), f"Version {a.version_number}", f"Version {b.version_number}", context=True
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare versions of “{lesson.title}”",
            "lesson": lesson,
            "a": a,
            "b": b,
            "diff_table": table,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "courses/admin/version_compare.html", context)

    def restore_view(self, request, lesson_id, version_id):
        lesson = get_object_or_404(CourseLesson.all_objects, pk=lesson_id)
        version = get_object_or_404(CourseContentVersion, pk=version_id, lesson=lesson)
        if not self.has_change_permission(request, lesson):
            raise Http404
        if request.method == "POST":
            services.lesson_version_restore(version=version, restored_by=request.user)
            self.message_user(request, f"Restored version {version.version_number}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:courses_courselesson_change", args=[lesson.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Restore version {version.version_number} of “{lesson.title}”?",
            "lesson": lesson,
            "version": version,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "courses/admin/version_restore.html", context)

    @row_action(description="Publish selected lessons", things="lesson", done="{things} published.")
    def publish(self, request, lesson):
        lesson.status = "published"
        return services.lesson_save(lesson=lesson, changed_by=request.user, change_summary="Published")

    things = "lesson"
    archive_description = "Archive selected lessons"
    restore_description = "Restore selected lessons"
    archive_done = "{things} archived. Completions and certificates already earned are kept."

    def archive_row(self, request, lesson):
        return services.lesson_archive(lesson=lesson, changed_by=request.user)

    def restore_row(self, request, lesson):
        return services.lesson_restore(lesson=lesson, changed_by=request.user)


@admin.register(CourseResource)
class CourseResourceAdmin(SoftDeleteAdmin):
    list_display = ("title", "course", "lesson", "archived_at")
    list_filter = (ArchivedFilter, "course")
    search_fields = ("title", "course__title")
    list_select_related = ("course", "lesson")
    things = "resource"
    archive_description = "Archive selected resources"
    restore_description = "Restore selected resources"


@admin.register(CourseContentVersion)
class CourseContentVersionAdmin(ReadOnlyAdmin):
    list_display = ("lesson", "version_number", "changed_by", "change_summary", "created_at")
    list_filter = ("lesson__module__course",)
    search_fields = ("lesson__title", "change_summary", "changed_by__email")
    list_select_related = ("lesson", "changed_by")


# --- Members and sales ----------------------------------------------------------------


@admin.register(CourseUser)
class CourseUserAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    list_display = ("email", "name", "course", "purchased_at", "amount_paid", "auth_user", "linked_at")
    list_filter = ("course", "source")
    search_fields = ("email", "name")
    list_select_related = ("course", "auth_user")
    readonly_fields = ("auth_user", "linked_at", "created_at")


def _access_now(enrollment) -> str:
    if enrollment.has_access:
        return "Yes"
    if enrollment.access_revoked_at:
        return f"Revoked {date_format(timezone.localtime(enrollment.access_revoked_at), 'j M Y')}"
    return "No"


# What the access actions share: who may run them, and the table their confirmation page shows.
_ACCESS = {"permissions": ["manage_access"], "things": "enrollment"}
_ENROLLMENT_TABLE = {
    "columns": [
        ("Member", lambda enrollment: enrollment.user.email),
        ("Course", lambda enrollment: enrollment.course.title),
        ("Payment", lambda enrollment: enrollment.get_payment_status_display()),
        ("Access now", _access_now),
    ],
    "related": ["user", "course"],
}


# Newest first, those not yet granted (pending payment) last: a page read from course_enrollments_enrolled.
NEWEST_ENROLLMENTS = (F("enrolled_at").desc(nulls_last=True),)


@admin.register(CourseEnrollment)
class CourseEnrollmentAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = (
        "user",
        "course",
        "payment_status",
        "access",
        "amount_paid",
        "discount_code_used",
        "affiliate_id",
        "progress_percent",
        "enrolled_at",
        "completed_at",
    )
    list_filter = ("payment_status", "course")
    ordering = NEWEST_ENROLLMENTS
    search_fields = ("user__email", "discount_code_used", "affiliate_id")
    search_exact = ("discount_code_used", "affiliate_id")  # a code is typed whole; partial indexes serve them
    search_help_text = "Part of a member's email, or a whole discount code or affiliate id."
    list_select_related = ("user", "course")
    actions = ["revoke_access", "restore_access"]

    @admin.display(boolean=True, description="Access")
    def access(self, obj) -> bool:
        return obj.has_access

    def has_manage_access_permission(self, request) -> bool:
        return request.user.has_perm("courses.change_courseenrollment")

    @row_action(
        description="Revoke access (no refund; asks for a reason)",
        **_ACCESS,
        done="Access ended for {things}.",
        confirm=Confirm(
            title="End these members' access?",
            button="Yes, end access",
            intro="Each member below loses access to the course at once and is told in the portal (and by email if "
            "they asked for it). Nothing is refunded. Lessons completed, milestones and certificates stay. You can "
            "restore access later.",
            **_ENROLLMENT_TABLE,
            field=ConfirmField(
                name="reason",
                label="Why is access ending? (kept in the course activity log)",
                missing="Say why access is ending.",
            ),
        ),
    )
    def revoke_access(self, request, enrollment, *, reason: str):
        return services.enrollment_access_revoke(enrollment=enrollment, staff=request.user, reason=reason)

    @row_action(
        description="Restore access revoked by staff",
        **_ACCESS,
        done="Access restored for {things}.",
        confirm=Confirm(
            title="Open the course again?",
            button="Yes, restore access",
            intro="Each member below can open the course again and is told so. Enrollments whose payment was "
            "refunded cannot be restored: those members can enroll again.",
            **_ENROLLMENT_TABLE,
        ),
    )
    def restore_access(self, request, enrollment):
        return services.enrollment_access_restore(enrollment=enrollment, staff=request.user)


@admin.register(CourseDiscountCode)
class CourseDiscountCodeAdmin(ConstraintErrorsMixin, DeleteGuardMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "is_active",
        "discount_type",
        "discount_value",
        "course",
        "uses_count",
        "max_uses",
        "valid_until",
    )
    list_filter = ("is_active", "discount_type", "course")
    list_editable = ("is_active",)
    search_fields = ("code",)
    list_select_related = ("course",)
    readonly_fields = ("uses_count", "created_at")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "discount_type" and field is not None:
            field.required = True
        return field

    def save_model(self, request, obj, form, change):
        services.discount_code_save(code=obj)

    def delete_refusal(self, code) -> str | None:
        if not code.uses_count:
            return None
        return (
            f"“{code.code}” was used {plural(code.uses_count, 'time')} and cannot be deleted (enrollments name it). "
            "Untick “is active” instead."
        )


@admin.register(CourseProgress)
class CourseProgressAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = ("user", "lesson", "status", "last_viewed_at", "completed_at")
    list_filter = ("status",)
    search_fields = ("user__email", "lesson__title")
    list_select_related = ("user", "lesson")


@admin.register(LessonCompletionDetail)
class LessonCompletionDetailAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = ("progress", "time_spent_seconds", "slides_total", "view_count", "completed_at")
    list_filter = ("completed_at",)
    search_fields = ("progress__user__email", "progress__lesson__title")
    list_select_related = ("progress",)


@admin.register(CourseMilestone)
class CourseMilestoneAdmin(ReadOnlyAdmin):
    list_display = ("user", "enrollment", "percent", "reached_at")
    list_filter = ("percent",)
    search_fields = ("user__email",)
    list_select_related = ("user", "enrollment__course")


@admin.register(CourseActivityLog)
class CourseActivityLogAdmin(LargeTableMixin, ReadOnlyAdmin):
    list_display = ("created_at", "user", "activity_type", "enrollment", "lesson")
    list_filter = ("activity_type",)
    search_fields = ("user__email", "lesson__title")
    list_select_related = ("user", "enrollment__course", "lesson")
    date_hierarchy = "created_at"


class CertificateForm(forms.ModelForm):
    class Meta:
        model = CourseCertificate
        fields = ("certificate_name", "revoked_reason")


@admin.register(CourseCertificate)
class CourseCertificateAdmin(ConstraintErrorsMixin, admin.ModelAdmin):
    """Staff may correct the printed name; entering a revocation reason revokes the certificate."""

    form = CertificateForm
    list_display = ("verification_code", "user", "course", "certificate_name", "completed_at", "revoked_at")
    list_filter = ("course", "revoked_at")
    search_fields = ("verification_code", "user__email", "certificate_name")
    list_select_related = ("user", "course")
    readonly_fields = ("verification_code", "user", "course", "completed_at", "issued_at", "revoked_at", "verify_link")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Public page")
    def verify_link(self, obj):
        url = reverse("courses:certificate_verify", args=[obj.verification_code])
        return format_html('<a href="{}">{}</a>', url, url)

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("revoked_reason", "").strip()
        obj.save(update_fields=["certificate_name"])
        if reason and obj.revoked_at is None:
            services.certificate_revoke(certificate=obj, reason=reason)


# --- Views ----------------------------------------------------------------------------


@admin.register(CourseOverview)
class CourseOverviewAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "status",
        "modules_count",
        "lessons_count",
        "enrollments_count",
        "completions_count",
        "completion_rate",
        "revenue",
        "archived_at",
    )
    list_filter = ("status",)
    search_fields = ("title",)


@admin.register(UserCourseStats)
class UserCourseStatsAdmin(LargeTableMixin, ReadOnlyAdmin):
    estimate_table = "course_enrollments"  # the view has a row per enrollment
    # Not the model's order (last activity, computed for every row before a page can be cut: 84 s
    # at 100x) but the enrollment's, which course_enrollments_enrolled serves.
    ordering = NEWEST_ENROLLMENTS
    list_display = (
        "user",
        "course",
        "has_access",
        "lessons_completed",
        "lessons_total",
        "percent",
        "time_spent_seconds",
        "last_activity_at",
        "completed_at",
    )
    list_filter = ("has_access", "course")
    search_fields = ("user__email", "course__title")
    list_select_related = ("user", "course")
