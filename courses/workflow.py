"""Courses, modules and lessons in the approval workflow (bloom/workflow.py, docs/courses.md)."""

from __future__ import annotations

from bloom.workflow import WorkflowKind

from . import services
from .models import Course, CourseLesson, CourseModule, PublishStatus


def _lesson_set(status: str, summary: str):
    def apply(lesson: CourseLesson) -> None:
        if lesson.status != status:
            lesson.status = status
            services.lesson_save(lesson=lesson, change_summary=summary)

    return apply


def _nothing(obj) -> None:
    """Modules have no status of their own: a module shows once it has a published lesson."""


LESSON = WorkflowKind(
    model=CourseLesson,
    noun="lesson",
    publish=_lesson_set(PublishStatus.PUBLISHED, "Published after review"),
    unpublish=_lesson_set(PublishStatus.DRAFT, "Unpublished"),
    is_live=lambda lesson: lesson.is_published,
)
MODULE = WorkflowKind(
    model=CourseModule, noun="module", publish=_nothing, unpublish=_nothing, is_live=lambda module: False
)
COURSE = WorkflowKind(
    model=Course,
    noun="course",
    publish=lambda course: services.course_publish(course=course),  # refused while it has no published lesson
    unpublish=lambda course: services.course_unpublish(course=course),
    is_live=lambda course: course.is_published,
)
