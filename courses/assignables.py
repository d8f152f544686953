"""Courses and lessons a clinician can suggest to a client (registered with accounts)."""

from __future__ import annotations

from django.urls import reverse

from accounts.assignables import Assignable, AssignedItem

from .models import Course, CourseEnrollment, CourseLesson, CourseProgress, ProgressStatus, PublishStatus


def _published_courses():
    return Course.objects.filter(status=PublishStatus.PUBLISHED)


def _published_lessons():
    return CourseLesson.objects.filter(
        status=PublishStatus.PUBLISHED,
        module__archived_at__isnull=True,
        module__course__status=PublishStatus.PUBLISHED,
        module__course__archived_at__isnull=True,
    )


def course_choices() -> list[tuple[object, str]]:
    return list(_published_courses().order_by("title").values_list("pk", "title"))


def lesson_choices() -> list[tuple[object, str]]:
    rows = _published_lessons().order_by("module__course__title", "module__position", "position")
    return [
        (pk, f"{course} › {title}") for pk, course, title in rows.values_list("pk", "module__course__title", "title")
    ]


def course_describe(*, member, ids) -> dict:
    """Two queries: the courses, and her enrollments in them."""
    courses = {c.pk: c for c in Course.all_objects.filter(pk__in=ids)}
    mine = {
        e.course_id: e for e in CourseEnrollment.objects.with_access().filter(user=member, course_id__in=list(courses))
    }
    items = {}
    for pk, course in courses.items():
        enrollment = mine.get(pk)
        if enrollment is None:
            progress, finished = "Not started yet", False
        elif enrollment.completed_at:
            progress, finished = "Finished", True
        else:
            progress, finished = f"{enrollment.progress_percent}% done", False
        url = reverse("courses:course_detail", args=[course.slug])
        items[pk] = AssignedItem(title=course.title, url=url, progress=progress, finished=finished)
    return items


def lesson_describe(*, member, ids) -> dict:
    """Two queries: the lessons with their course, and her completions of them."""
    lessons = list(CourseLesson.all_objects.filter(pk__in=ids).select_related("module__course"))
    done = set(
        CourseProgress.objects.filter(
            user=member, lesson_id__in=[lesson.pk for lesson in lessons], status=ProgressStatus.COMPLETED
        ).values_list("lesson_id", flat=True)
    )
    items = {}
    for lesson in lessons:
        course = lesson.module.course
        finished = lesson.pk in done
        items[lesson.pk] = AssignedItem(
            title=f"{lesson.title} ({course.title})",
            url=reverse("courses:lesson_detail", args=[course.slug, lesson.pk]),
            progress="Done" if finished else "Not done yet",
            finished=finished,
        )
    return items


COURSE = Assignable(kind="course", choices=course_choices, describe=course_describe)
LESSON = Assignable(kind="lesson", choices=lesson_choices, describe=lesson_describe)
