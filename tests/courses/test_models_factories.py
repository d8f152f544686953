"""Courses factories build related rows that agree (validity of every factory: tests/bloom/test_factories_cover_models.py)."""

import pytest

from tests.factories import courses as f


@pytest.mark.django_db
def test_progress_factory_lesson_belongs_to_the_enrollments_course():
    progress = f.CourseProgressFactory()
    assert progress.lesson.module.course_id == progress.enrollment.course_id
    assert progress.user_id == progress.enrollment.user_id
