"""The course activity log and course links, shared by the other course services."""

from __future__ import annotations

from django.urls import reverse

from ..models import (
    Course,
    CourseActivityLog,
    CourseEnrollment,
)


def activity_record(*, enrollment: CourseEnrollment, activity_type: str, lesson=None, details: dict | None = None):
    """Write one course_activity_log row for the enrollment, in the caller's transaction."""
    return CourseActivityLog.objects.create(
        user_id=enrollment.user_id,
        enrollment=enrollment,
        lesson=lesson,
        activity_type=activity_type,
        details=details or {},
    )


def course_url(course: Course) -> str:
    """The course page's path (absolute_url() makes it absolute for email)."""
    return reverse("courses:course_detail", args=[course.slug])
