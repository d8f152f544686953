"""Progress (the seed's update_course_progress): lesson views and completions, percent, milestones.

Written under the enrollment's row lock (docs/adr/0043), except a plain page view, which is one
statement whose writes need no lock (`lesson_view_record`, docs/adr/0420).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.selectors import consistency_forget
from accounts.services import achievement_award
from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from notifications import services as notifications

from ..models import (
    MILESTONE_PERCENTS,
    ActivityType,
    CourseEnrollment,
    CourseLesson,
    CourseMilestone,
    CourseProgress,
    LessonCompletionDetail,
    ProgressStatus,
    PublishStatus,
)
from .activity import activity_record, course_url
from .certificates import certificate_issue

MAX_TIME_PER_CALL = 4 * 60 * 60  # seconds one report may add: a tab left open overnight is not study time


@dataclass(frozen=True)
class LessonView:
    """Her progress row in a lesson as it stands after a view: where to reopen it."""

    progress_id: uuid.UUID
    status: str
    last_slide_index: int


# One statement for a page view. Every write is relative to the row as it stands when the
# statement runs (no read, then write), so a completion the player records at the same moment
# is never undone and no row lock is needed; the statement is atomic by itself.
_VIEW_SQL = """
WITH progress AS (
    INSERT INTO course_progress AS p
        (id, created_at, updated_at, user_id, enrollment_id, lesson_id, status,
         last_slide_index, first_viewed_at, last_viewed_at, completed_at)
    VALUES (%(progress_id)s, %(now)s, %(now)s, %(user_id)s, %(enrollment_id)s, %(lesson_id)s,
            %(in_progress)s, 0, %(now)s, %(now)s, NULL)
    ON CONFLICT (enrollment_id, lesson_id) DO UPDATE
        SET last_viewed_at = EXCLUDED.last_viewed_at, updated_at = EXCLUDED.updated_at
    RETURNING p.id, p.status, p.last_slide_index
), detail AS (
    INSERT INTO lesson_completion_details AS d
        (id, progress_id, time_spent_seconds, slides_seen, slides_total, view_count,
         completed_at, created_at, updated_at)
    SELECT %(detail_id)s, progress.id, 0, '[]'::jsonb, %(slides_total)s, 1, NULL, %(now)s, %(now)s
    FROM progress
    ON CONFLICT (progress_id) DO UPDATE
        SET view_count = d.view_count + 1, slides_total = EXCLUDED.slides_total,
            updated_at = EXCLUDED.updated_at
), activity AS (
    INSERT INTO course_activity_log (id, user_id, enrollment_id, lesson_id, activity_type, details, created_at)
    VALUES (%(activity_id)s, %(user_id)s, %(enrollment_id)s, %(lesson_id)s, %(viewed)s, '{}'::jsonb, %(now)s)
), enrollment AS (
    UPDATE course_enrollments
    SET last_lesson_id = %(lesson_id)s, last_activity_at = %(now)s, updated_at = %(now)s
    WHERE id = %(enrollment_id)s
)
SELECT id, status, last_slide_index FROM progress
"""


def lesson_view_record(*, enrollment: CourseEnrollment, lesson: CourseLesson) -> LessonView:
    """Record that the member opened a lesson page (no time, slides or completion reported).

    Writes what `course_progress_update` writes for a plain view, in one statement: her
    progress row (created in progress, or its last view moved on), its detail (one more
    view, the slide count), a `lesson_viewed` activity row, and the enrollment's last lesson
    and activity time. `lesson.slides` must be loaded (the lesson page's outline loads them).
    Raises ApplicationError without access.
    """
    if not enrollment.has_access:
        raise ApplicationError("You need to be enrolled in this course to record progress.")
    now = timezone.now()
    params = {
        "progress_id": uuid.uuid4(),
        "detail_id": uuid.uuid4(),
        "activity_id": uuid.uuid4(),
        "now": now,
        "user_id": enrollment.user_id,
        "enrollment_id": enrollment.pk,
        "lesson_id": lesson.pk,
        "slides_total": len(lesson.slides or []),
        "in_progress": ProgressStatus.IN_PROGRESS,
        "viewed": ActivityType.LESSON_VIEWED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_VIEW_SQL, params)
        progress_id, status, last_slide_index = cursor.fetchone()
    enrollment.last_lesson, enrollment.last_activity_at = lesson, now
    consistency_forget(user_id=enrollment.user_id)  # a lesson opened today counts as showing up
    return LessonView(progress_id=progress_id, status=status, last_slide_index=last_slide_index)


def _counted_lessons(course_id) -> Q:
    return Q(
        status=PublishStatus.PUBLISHED,
        archived_at__isnull=True,
        module__archived_at__isnull=True,
        module__course_id=course_id,
    )


def course_progress_update(
    *,
    member,
    lesson: CourseLesson,
    completed: bool = False,
    time_spent_seconds: int = 0,
    slides_seen: list[int] | None = None,
    slide_index: int | None = None,
) -> CourseProgress:
    """Record that the member opened (or completed) a lesson: the one place progress is written.

    Writes course_progress for the lesson, its lesson_completion_details (time spent,
    slides seen, completion time) and a course_activity_log row. Atomic, under the
    enrollment's row lock. Idempotent: completing twice counts once (a second completion
    only adds time). A completion recomputes the percent over published lessons, writes
    course_milestones at 25/50/75/100 (unique per enrollment and percent) with an
    achievement and a notice, and at 100% issues the certificate. A fixed number of
    queries, whatever the course's size. Raises ApplicationError without access.
    """
    course_id = lesson.module.course_id
    now = timezone.now()
    seconds = max(0, min(int(time_spent_seconds or 0), MAX_TIME_PER_CALL))
    seen = sorted({int(i) for i in (slides_seen or []) if 0 <= int(i) < 10_000})
    with transaction.atomic():
        enrollment = (
            CourseEnrollment.objects.select_for_update(of=("self",))
            .select_related("course", "user")
            .filter(user=member, course_id=course_id)
            .first()
        )
        if enrollment is None or not enrollment.has_access:
            raise ApplicationError("You need to be enrolled in this course to record progress.")
        progress = CourseProgress.objects.filter(enrollment=enrollment, lesson=lesson).select_related("detail").first()
        newly_completed = False
        if progress is None:
            progress = CourseProgress.objects.create(
                user=member,
                enrollment=enrollment,
                lesson=lesson,
                status=ProgressStatus.COMPLETED if completed else ProgressStatus.IN_PROGRESS,
                last_slide_index=slide_index or 0,
                first_viewed_at=now,
                last_viewed_at=now,
                completed_at=now if completed else None,
            )
            detail = LessonCompletionDetail(progress=progress)
            newly_completed = completed
        else:
            detail = getattr(progress, "detail", None) or LessonCompletionDetail(progress=progress)
            if completed and progress.status != ProgressStatus.COMPLETED:
                progress.status, progress.completed_at = ProgressStatus.COMPLETED, now
                newly_completed = True
            progress.last_viewed_at = now
            if slide_index is not None:
                progress.last_slide_index = slide_index
            progress.save(update_fields=["status", "completed_at", "last_viewed_at", "last_slide_index", "updated_at"])
        detail.time_spent_seconds = (detail.time_spent_seconds or 0) + seconds
        detail.slides_seen = sorted(set(detail.slides_seen or []) | set(seen))
        detail.slides_total = len(lesson.slides or [])
        # A plain page open counts as a view; reports of time or slides from the player do not.
        detail.view_count = (detail.view_count or 0) + (0 if completed or seconds or seen else 1)
        if newly_completed:
            detail.completed_at = now
        detail.save()
        activity_record(
            enrollment=enrollment,
            lesson=lesson,
            activity_type=ActivityType.LESSON_COMPLETED if newly_completed else ActivityType.LESSON_VIEWED,
            details={"time_spent_seconds": seconds, "slides_seen": seen} if seconds or seen else {},
        )
        enrollment.last_lesson = lesson
        enrollment.last_activity_at = now
        fields = ["last_lesson", "last_activity_at", "updated_at"]
        if newly_completed:
            fields += _enrollment_percent_refresh(enrollment=enrollment, now=now)
        enrollment.save(update_fields=fields)
    progress.enrollment = enrollment  # callers read the new percent and milestone without a query
    return progress


def _enrollment_percent_refresh(*, enrollment: CourseEnrollment, now: datetime) -> list[str]:
    """Recount completed published lessons (one query); write milestones and the certificate."""
    completed = CourseProgress.objects.filter(
        enrollment=enrollment, lesson=OuterRef("pk"), status=ProgressStatus.COMPLETED
    )
    counts = CourseLesson.objects.filter(_counted_lessons(enrollment.course_id)).aggregate(
        total=Count("id"), done=Count("id", filter=Q(Exists(completed)))
    )
    total, done = counts["total"], counts["done"]
    enrollment.lessons_completed = done
    enrollment.progress_percent = done * 100 // total if total else 0
    fields = ["lessons_completed", "progress_percent"]
    reached = [p for p in MILESTONE_PERCENTS if enrollment.last_milestone_percent < p <= enrollment.progress_percent]
    if reached:
        _milestones_record(enrollment=enrollment, percents=reached, now=now)
        enrollment.last_milestone_percent = reached[-1]
        fields.append("last_milestone_percent")
    if enrollment.progress_percent == 100 and enrollment.completed_at is None:
        enrollment.completed_at = now
        fields.append("completed_at")
    if enrollment.progress_percent == 100:
        certificate_issue(enrollment=enrollment, now=now)
    return fields


def _milestones_record(*, enrollment: CourseEnrollment, percents: list[int], now: datetime) -> None:
    course, member = enrollment.course, enrollment.user
    CourseMilestone.objects.bulk_create(
        [CourseMilestone(user=member, enrollment=enrollment, percent=p, reached_at=now) for p in percents],
        ignore_conflicts=True,
    )
    for p in percents:
        achievement_award(
            user=member,
            key=f"course:{course.pk}:{p}",
            title=f"{course.title}: {'finished' if p == 100 else f'{p}% complete'}",
            description=f"Completed {p}% of the lessons of {course.title}.",
        )
    for p in percents:
        activity_record(enrollment=enrollment, activity_type=ActivityType.MILESTONE_REACHED, details={"percent": p})
    top = percents[-1]
    url = course_url(course)
    if top == 100:
        title, message = f"You finished {course.title}", "Well done. Your certificate is ready to download."
    else:
        title, message = f"{top}% of {course.title} done", "Every lesson counts. Keep going at your own pace."
    notifications.notification_create(
        member=member,
        type="course_completed" if top == 100 else "course_milestone",
        title=title,
        message=message,
        data={"course_id": str(course.pk), "percent": top, "url": url},
        email_template="courses/milestone",
        email_context={
            "course_title": course.title,
            "percent": top,
            "course_url": absolute_url(url),
            "first_name": member.first_name,
        },
    )


def course_progress_recompute(*, course_id) -> int:
    """Recompute every enrollment's percent after the course's lessons changed (two queries).

    Completion (`completed_at`), milestones and certificates already earned are kept:
    adding lessons lowers the percent but never takes away what was earned.
    """
    total = CourseLesson.objects.filter(_counted_lessons(course_id)).count()
    done = (
        CourseProgress.objects.filter(enrollment=OuterRef("pk"), status=ProgressStatus.COMPLETED)
        .filter(
            lesson__status=PublishStatus.PUBLISHED,
            lesson__archived_at__isnull=True,
            lesson__module__archived_at__isnull=True,
            lesson__module__course_id=course_id,
        )
        .order_by()
        .values("enrollment")
        .annotate(n=Count("id"))
        .values("n")
    )
    done_count = Coalesce(Subquery(done), Value(0))
    return CourseEnrollment.objects.filter(course_id=course_id).update(
        lessons_completed=done_count,
        progress_percent=done_count * 100 / total if total else Value(0),
    )
