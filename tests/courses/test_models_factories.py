"""Every courses factory builds a valid row with valid related rows."""

import pytest

from tests.factories import courses as f

FACTORIES = [
    f.CourseFactory,
    f.CourseModuleFactory,
    f.CourseLessonFactory,
    f.CourseResourceFactory,
    f.CourseContentVersionFactory,
    f.CourseUserFactory,
    f.CourseEnrollmentFactory,
    f.CourseDiscountCodeFactory,
    f.CourseProgressFactory,
    f.LessonCompletionDetailFactory,
    f.CourseMilestoneFactory,
    f.CourseActivityLogFactory,
    f.CourseCertificateFactory,
]


@pytest.mark.django_db
@pytest.mark.parametrize("factory", FACTORIES, ids=lambda factory: factory.__name__)
def test_factory_builds_a_valid_row(factory):
    row = factory()
    row.full_clean(exclude=["file", "verification_code"])
    assert type(row)._default_manager.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_progress_factory_lesson_belongs_to_the_enrollments_course():
    progress = f.CourseProgressFactory()
    assert progress.lesson.module.course_id == progress.enrollment.course_id
    assert progress.user_id == progress.enrollment.user_id
