"""Reads for courses: the catalog, a course's outline for one member, lesson access, member records.

Member reads take the member and filter by it: another member's enrollment, resource or
certificate is a 404 (`Http404`), never a 403 that would confirm it exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import member_pause_list_for_member, pause_shifted

from .content import slides_clean, video_embed_url
from .models import (
    Course,
    CourseCertificate,
    CourseEnrollment,
    CourseLesson,
    CourseModule,
    CourseProgress,
    CourseResource,
    ProgressStatus,
    PublishStatus,
    UserCourseStats,
)

# --- Catalog --------------------------------------------------------------------------


def _published_lessons() -> QuerySet[CourseLesson]:
    """Lessons that count: published, in a module that is not archived (archived lessons are hidden)."""
    return CourseLesson.objects.filter(status=PublishStatus.PUBLISHED, module__archived_at__isnull=True)


def _lesson_figure(expression) -> Subquery:
    lessons = (
        _published_lessons()
        .filter(module__course=OuterRef("pk"))
        .order_by()
        .values("module__course")
        .annotate(figure=expression)
        .values("figure")
    )
    return Coalesce(Subquery(lessons, output_field=IntegerField()), Value(0))


def course_list_published() -> QuerySet[Course]:
    """Published, non-archived courses with `lessons_count` and `duration_minutes` (one query)."""
    return (
        Course.objects.filter(status=PublishStatus.PUBLISHED)
        .annotate(
            lessons_count=_lesson_figure(Count("id")),
            duration_minutes=_lesson_figure(Sum("duration_minutes")),
        )
        .order_by("position", "title", "id")  # the catalogue's order, stable across its pages
    )


@dataclass
class LessonItem:
    lesson: CourseLesson
    completed: bool = False
    locked: bool = False
    opens_at: datetime | None = None
    openable: bool = False  # the course page links it for this viewer (preview, access, staff)
    url_pattern: str = ""  # the lesson URL with LESSON_ID_PLACEHOLDER for the lesson's id

    @property
    def can_open(self) -> bool:
        return not self.locked

    @property
    def url(self) -> str:
        """The lesson page's path, without a `reverse()` per lesson (a 500-lesson outline)."""
        return self.url_pattern.replace(LESSON_ID_PLACEHOLDER, str(self.lesson.pk))


@dataclass
class ModuleItem:
    module: CourseModule
    lessons: list[LessonItem]
    opens_at: datetime | None = None
    locked: bool = False


LESSON_ID_PLACEHOLDER = "00000000-0000-4000-8000-00000000000c"


@dataclass
class CourseOutline:
    """A course as one viewer sees it: modules, lessons, what they may open, how far they are."""

    course: Course
    modules: list[ModuleItem]
    enrollment: CourseEnrollment | None
    resources: list[CourseResource]
    staff_preview: bool = False
    lessons: list[LessonItem] = field(default_factory=list)

    @property
    def has_access(self) -> bool:
        return self.enrollment is not None and self.enrollment.has_access

    @property
    def lessons_count(self) -> int:
        return len(self.lessons)

    @property
    def completed_count(self) -> int:
        return sum(1 for item in self.lessons if item.completed)

    @property
    def duration_minutes(self) -> int:
        return sum(item.lesson.duration_minutes for item in self.lessons)

    @property
    def percent(self) -> int:
        return self.completed_count * 100 // self.lessons_count if self.lessons_count else 0

    @property
    def open_resources(self) -> list[CourseResource]:
        """Downloads the viewer may open now: the course's own, and those of lessons they can open."""
        open_ids = {item.lesson.pk for item in self.lessons if not item.locked}
        return [r for r in self.resources if r.lesson_id is None or r.lesson_id in open_ids]

    @property
    def fragment_key(self) -> str:
        """A digest of everything the course page's outline shows, for its cached fragment
        (`{% cache %}` in courses/course_detail.html): the modules with their state, each
        lesson as this viewer sees it, and the zone its dates are shown in. A changed title,
        a completion or a module opening gives a new key, so the cache is never stale."""
        digest = hashlib.sha256(f"{self.course.pk}|{self.has_access}|{timezone.get_current_timezone_name()}".encode())
        for module_item in self.modules:
            module = module_item.module
            digest.update(
                f"|m{module.pk}|{module.title}|{module.description}|{module.drip_days}|{module_item.locked}"
                f"|{module_item.opens_at}".encode()
            )
            for item in module_item.lessons:
                lesson = item.lesson
                digest.update(
                    f"|l{lesson.pk}|{lesson.title}|{lesson.status}|{lesson.is_preview}|{lesson.duration_minutes}"
                    f"|{item.completed}|{item.openable}|{item.url_pattern}".encode()
                )
        return digest.hexdigest()

    def item_for(self, lesson_id) -> LessonItem | None:
        return next((item for item in self.lessons if item.lesson.pk == lesson_id), None)

    def neighbours(self, lesson_id) -> tuple[LessonItem | None, LessonItem | None]:
        ids = [item.lesson.pk for item in self.lessons]
        if lesson_id not in ids:
            return None, None
        index = ids.index(lesson_id)
        previous = self.lessons[index - 1] if index > 0 else None
        following = self.lessons[index + 1] if index + 1 < len(self.lessons) else None
        return previous, following

    @property
    def continue_item(self) -> LessonItem | None:
        """Where to pick up: the last lesson opened, else the first lesson not completed."""
        last_id = self.enrollment.last_lesson_id if self.enrollment else None
        last = self.item_for(last_id) if last_id else None
        if last is not None and not last.locked:
            return last
        return next((item for item in self.lessons if not item.completed and not item.locked), None)


def _first_or_404(queryset: QuerySet, message: str):
    """The queryset's first row, else Http404 with `message` (one query, no MultipleObjectsReturned)."""
    row = queryset.first()
    if row is None:
        raise Http404(message)
    return row


def _course_for_viewer(*, slug: str, member) -> tuple[Course, CourseEnrollment | None, bool]:
    """The course a viewer may see, their enrollment and whether this is a staff preview.

    Anyone sees published, non-archived courses; a member who holds access also keeps
    seeing a course that was archived later; staff see every course (preview).
    """
    course = _first_or_404(Course.all_objects.filter(slug=slug), "No such course.")
    enrollment = None
    if member is not None and member.is_authenticated:
        # Of her last lesson the pages need only its id (where "Continue" goes), not its row and slides.
        enrollment = CourseEnrollment.objects.filter(user=member, course=course).first()
    staff = bool(member is not None and member.is_authenticated and member.is_staff)
    listed = course.is_published and not course.is_archived
    held = course.is_published and enrollment is not None and enrollment.has_access
    if not (listed or held or staff):
        raise Http404("No such course.")
    return course, enrollment, staff and not listed


def course_outline_get(*, slug: str, member, now: datetime | None = None, slides_of=None) -> CourseOutline:
    """The course page's data in a fixed number of queries, whatever the course's size.

    Members see published lessons; staff see drafts too. Drip dates come from the
    enrollment's first access (`enrolled_at`). Which lessons she completed comes with the
    lessons; `slides_of` names the one lesson whose slides are loaded too (the lesson page).
    """
    now = now or timezone.now()
    course, enrollment, staff_preview = _course_for_viewer(slug=slug, member=member)
    staff = bool(member is not None and member.is_authenticated and member.is_staff)
    lessons = CourseLesson.objects.all() if staff else CourseLesson.objects.filter(status=PublishStatus.PUBLISHED)
    # Slides are the bulk of a lesson row; the outline never shows them (the lesson page loads its own).
    # Nor its timestamps: at 500 lessons reading them back as datetimes was a fifth of the page.
    lessons = lessons.defer("slides", "created_at", "updated_at")
    if slides_of is None:  # the course page: no lesson's summary or video either
        lessons = lessons.defer("summary", "video_url", "archived_at")
    if enrollment is not None:
        done = CourseProgress.objects.filter(
            enrollment=enrollment, lesson=OuterRef("pk"), status=ProgressStatus.COMPLETED
        )
        lessons = lessons.annotate(is_done=Exists(done))
    if slides_of is not None:
        lessons = lessons.annotate(
            shown_slides=Case(When(pk=slides_of, then=F("slides")), default=Value(None), output_field=JSONField())
        )
    modules = list(
        CourseModule.objects.filter(course=course)
        .order_by("position", "created_at")
        .prefetch_related(Prefetch("lessons", queryset=lessons.order_by("position", "created_at")))
    )
    resources = list(CourseResource.objects.filter(course=course).order_by("position", "title"))
    enrolled_at = enrollment.enrolled_at if enrollment is not None and enrollment.has_access else None
    # Her pauses move drips still to come (one query, only when a module drips at all).
    pauses = (
        member_pause_list_for_member(member=member)
        if enrolled_at is not None and any(module.drip_days for module in modules)
        else []
    )
    outline = CourseOutline(
        course=course, modules=[], enrollment=enrollment, resources=resources, staff_preview=staff_preview
    )
    url_pattern = reverse("courses:lesson_detail", args=[course.slug, LESSON_ID_PLACEHOLDER])
    for module in modules:
        opens_at = pause_shifted(module.opens_at(enrolled_at), pauses=pauses)
        locked = opens_at is not None and opens_at > now and not staff
        items = [
            LessonItem(
                lesson=lesson,
                completed=getattr(lesson, "is_done", False),
                locked=locked,
                opens_at=opens_at,
                openable=lesson.is_preview or outline.has_access and not locked or staff_preview or staff,
                url_pattern=url_pattern,
            )
            for lesson in module.lessons.all()
        ]
        outline.modules.append(ModuleItem(module=module, lessons=items, opens_at=opens_at, locked=locked))
        outline.lessons.extend(items)
    return outline


@dataclass
class LessonAccess:
    allowed: bool
    message: str = ""


def lesson_access_get(*, outline: CourseOutline, item: LessonItem, member) -> LessonAccess:
    """Whether the viewer may open this lesson, and if not, what to tell them. No queries."""
    if item.lesson.is_preview and (item.lesson.is_published or outline.staff_preview):
        return LessonAccess(True)
    if member is not None and member.is_authenticated and member.is_staff:
        return LessonAccess(True)
    if not outline.has_access:
        if outline.enrollment is not None and outline.enrollment.closed_by_staff:
            return LessonAccess(False, "The practice has closed this course for you.")
        if outline.enrollment is not None and outline.enrollment.access_revoked_at is not None:
            return LessonAccess(False, "Your access to this course has ended. You can enroll again below.")
        if outline.enrollment is not None and outline.enrollment.payment_status == "pending":
            return LessonAccess(False, "Your payment for this course has not arrived yet. This page opens once it has.")
        return LessonAccess(False, "This lesson is for members enrolled in the course. Enroll to open it.")
    if item.locked:
        when = timezone.localtime(item.opens_at).strftime("%B %-d, %Y")
        return LessonAccess(False, f"This module opens on {when}.")
    return LessonAccess(True)


@dataclass
class LessonPage:
    outline: CourseOutline
    item: LessonItem
    slides: list[str]
    video_url: str | None
    previous: LessonItem | None
    next: LessonItem | None
    resources: list[CourseResource]
    module_item: ModuleItem


def lesson_page_get(*, slug: str, lesson_id, member) -> tuple[LessonPage | None, LessonAccess, CourseOutline]:
    """A lesson as the viewer may see it; `None` with the access decision when they may not."""
    outline = course_outline_get(slug=slug, member=member, slides_of=lesson_id)
    item = outline.item_for(lesson_id)
    if item is None:
        raise Http404("No such lesson.")
    access = lesson_access_get(outline=outline, item=item, member=member)
    if not access.allowed:
        return None, access, outline
    item.lesson.slides = item.lesson.shown_slides or []  # loaded with the outline (`slides_of`)
    previous, following = outline.neighbours(lesson_id)
    module_item = next(m for m in outline.modules if any(i is item for i in m.lessons))
    page = LessonPage(
        outline=outline,
        item=item,
        slides=slides_clean(item.lesson.slides),
        video_url=video_embed_url(item.lesson.video_url),
        previous=previous,
        next=following,
        resources=[r for r in outline.resources if r.lesson_id == item.lesson.pk],
        module_item=module_item,
    )
    return page, access, outline


# --- Member records -------------------------------------------------------------------


def enrollment_list_for_member(*, member) -> QuerySet[UserCourseStats]:
    """The member's courses with figures from `user_course_stats` (one query, for the dashboard):
    only the columns its panel shows, and of the last lesson only its id (where "Continue" goes)."""
    return (
        UserCourseStats.objects.filter(user=member, has_access=True)
        .select_related("course", "enrollment")
        .only(
            *("lessons_total", "lessons_completed", "percent", "time_spent_seconds", "last_activity_at"),
            *("completed_at", "course__title", "course__slug", "enrollment__last_lesson"),
        )
        .order_by("-last_activity_at", "course__title")
    )


def course_marks_for_member(*, member) -> dict:
    """Course id -> how far the member is: "completed", "in_progress" or "enrolled" (one query;
    {} for a visitor). Only courses she holds access to are marked, so a lapsed or refunded
    enrollment does not claim she is enrolled."""
    if not getattr(member, "is_authenticated", False):
        return {}
    marks = {}
    rows = UserCourseStats.objects.filter(user=member, has_access=True).values_list(
        "course_id", "completed_at", "lessons_completed", "last_activity_at"
    )
    for course_id, completed_at, lessons_completed, last_activity_at in rows:
        if completed_at is not None:
            marks[course_id] = "completed"
        elif lessons_completed or last_activity_at is not None:
            marks[course_id] = "in_progress"
        else:
            marks[course_id] = "enrolled"
    return marks


def enrollment_get_for_member(*, member, enrollment_id) -> CourseEnrollment:
    return _first_or_404(
        CourseEnrollment.objects.filter(user=member, pk=enrollment_id).select_related("course", "last_lesson"),
        "No such enrollment.",
    )


def enrollment_stats_get(*, enrollment: CourseEnrollment) -> UserCourseStats | None:
    return UserCourseStats.objects.filter(enrollment=enrollment).first()


def resource_get_for_member(*, member, resource_id, now: datetime | None = None) -> CourseResource:
    """A resource the member may download, else 404 (staff: any).

    The member holds access to its course, and a resource tied to a lesson follows that
    lesson: published, not archived, and its module open (drip).
    """
    resource = CourseResource.objects.filter(pk=resource_id).select_related("course", "lesson__module").first()
    if resource is None or not member.is_authenticated:
        raise Http404("No such resource.")
    if member.is_staff:
        return resource
    enrollment = CourseEnrollment.objects.with_access().filter(user=member, course_id=resource.course_id).first()
    if enrollment is None:
        raise Http404("No such resource.")
    lesson = resource.lesson
    if lesson is not None:
        opens_at = lesson.module.opens_at(enrollment.enrolled_at)
        if opens_at is not None:
            opens_at = pause_shifted(opens_at, pauses=member_pause_list_for_member(member=member))
        hidden = not lesson.is_published or lesson.is_archived or lesson.module.is_archived
        if hidden or (opens_at is not None and opens_at > (now or timezone.now())):
            raise Http404("No such resource.")
    return resource


def certificate_get_for_member(*, member, certificate_id) -> CourseCertificate:
    return _first_or_404(
        CourseCertificate.objects.filter(user=member, pk=certificate_id).select_related("course", "enrollment"),
        "No such certificate.",
    )


def certificate_get_for_enrollment(*, enrollment: CourseEnrollment) -> CourseCertificate | None:
    return CourseCertificate.objects.filter(enrollment=enrollment).first()


def certificate_get_by_code(*, code: str) -> CourseCertificate:
    return _first_or_404(
        CourseCertificate.objects.filter(verification_code=code).select_related("course"),
        "No certificate has this code.",
    )


def milestone_percent_list_for_enrollment(*, enrollment: CourseEnrollment) -> list[int]:
    return list(enrollment.milestones.order_by("percent").values_list("percent", flat=True))


def member_has_purchased_course(*, email: str, user, sequence=None, context: dict | None = None) -> bool:
    """The "purchased" stop condition of email sequences (notifications registry).

    True when the recipient holds a paid course with access: the course named by the
    sequence recipient's `promoted_course` context value (a slug), or any paid course when
    the sequence promotes none.
    """
    enrollments = CourseEnrollment.objects.filter(payment_status="paid", access_revoked_at__isnull=True)
    if user is not None:
        enrollments = enrollments.filter(user=user)
    elif email:
        enrollments = enrollments.filter(user__email__iexact=email)
    else:
        return False
    promoted = (context or {}).get("promoted_course")
    if promoted:
        enrollments = enrollments.filter(course__slug=promoted)
    return enrollments.exists()


def activity_days_for_member(*, member, since):
    """The days (in the reader's zone) she opened or finished a lesson since `since`, as a
    values query of dates: accounts unions it with its own sources (no query here)."""
    return (
        CourseProgress.objects.filter(user=member, updated_at__date__gte=since)
        .annotate(day=TruncDate("updated_at"))
        .values_list("day", flat=True)
    )
