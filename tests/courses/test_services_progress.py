"""The one progress service: idempotent, atomic, fixed queries, milestones, certificates, views."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import UserAchievement
from bloom.exceptions import ApplicationError
from courses.models import (
    CourseActivityLog,
    CourseCertificate,
    CourseEnrollment,
    CourseMilestone,
    CourseOverview,
    CourseProgress,
    LessonCompletionDetail,
    UserCourseStats,
)
from courses.services import course_progress_update, lesson_save
from tests.courses.conftest import build_course, lessons_of, notice_types
from tests.factories.courses import CourseEnrollmentFactory, CourseLessonFactory

pytestmark = pytest.mark.django_db


def _enrolled(member, lessons=4, modules=2):
    course = build_course(lessons=lessons, modules=modules)
    enrollment = CourseEnrollmentFactory(user=member, course=course)
    return course, enrollment


def test_view_then_complete_writes_progress_detail_and_activity(member):
    course, enrollment = _enrolled(member)
    lesson = lessons_of(course)[0]

    course_progress_update(member=member, lesson=lesson)
    progress = CourseProgress.objects.get(enrollment=enrollment, lesson=lesson)
    assert progress.status == "in_progress"
    assert progress.completed_at is None

    course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=95, slides_seen=[0, 1])
    progress.refresh_from_db()
    detail = LessonCompletionDetail.objects.get(progress=progress)
    assert progress.status == "completed"
    assert detail.time_spent_seconds == 95
    assert detail.slides_seen == [0, 1]
    assert detail.slides_total == 2
    assert detail.view_count == 1
    assert detail.completed_at == progress.completed_at
    kinds = list(
        CourseActivityLog.objects.filter(enrollment=enrollment)
        .order_by("created_at")
        .values_list("activity_type", flat=True)
    )
    assert kinds[:2] == ["lesson_viewed", "lesson_completed"]
    enrollment.refresh_from_db()
    assert enrollment.lessons_completed == 1
    assert enrollment.progress_percent == 25
    assert enrollment.last_lesson_id == lesson.pk


def test_completing_twice_counts_once(member):
    course, enrollment = _enrolled(member)
    lesson = lessons_of(course)[0]
    course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=30)
    first = CourseProgress.objects.get(lesson=lesson).completed_at
    course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=20)

    enrollment.refresh_from_db()
    assert enrollment.lessons_completed == 1
    assert enrollment.progress_percent == 25
    assert CourseProgress.objects.filter(lesson=lesson).count() == 1
    assert CourseProgress.objects.get(lesson=lesson).completed_at == first
    assert CourseMilestone.objects.filter(enrollment=enrollment).count() == 1
    assert CourseActivityLog.objects.filter(enrollment=enrollment, activity_type="lesson_completed").count() == 1
    assert LessonCompletionDetail.objects.get(progress__lesson=lesson).time_spent_seconds == 50


def test_without_access_nothing_is_written(member, other_member):
    course, _ = _enrolled(other_member)
    lesson = lessons_of(course)[0]
    with pytest.raises(ApplicationError):
        course_progress_update(member=member, lesson=lesson, completed=True)
    assert not CourseProgress.objects.filter(user=member).exists()


def test_time_reported_per_call_is_capped(member):
    course, _ = _enrolled(member)
    lesson = lessons_of(course)[0]
    course_progress_update(member=member, lesson=lesson, time_spent_seconds=10 * 60 * 60)
    assert LessonCompletionDetail.objects.get().time_spent_seconds == 4 * 60 * 60


def _count_complete_queries(member, lessons: int) -> int:
    course, _ = _enrolled(member, lessons=lessons, modules=5)
    all_lessons = lessons_of(course)
    course_progress_update(member=member, lesson=all_lessons[0], completed=True)
    with CaptureQueriesContext(connection) as ctx:
        course_progress_update(member=member, lesson=all_lessons[5], completed=True, time_spent_seconds=5)
    return len(ctx.captured_queries)


def test_completion_uses_the_same_queries_at_10_and_100_lessons(django_assert_num_queries, member, other_member):
    small = _count_complete_queries(member, 10)
    large = _count_complete_queries(other_member, 100)
    assert small == large
    course, _ = _enrolled(member, lessons=10, modules=2)
    lesson = lessons_of(course)[3]
    # First view: lock enrollment, read progress, insert progress, insert detail, insert activity, update enrollment.
    with django_assert_num_queries(8):
        course_progress_update(member=member, lesson=lesson)


def test_milestones_achievements_and_certificate(member):
    course, enrollment = _enrolled(member, lessons=4)
    lessons = lessons_of(course)
    for lesson in lessons[:2]:
        course_progress_update(member=member, lesson=lesson, completed=True)
    assert list(CourseMilestone.objects.filter(enrollment=enrollment).values_list("percent", flat=True)) == [25, 50]
    assert not CourseCertificate.objects.filter(enrollment=enrollment).exists()
    for lesson in lessons[2:]:
        course_progress_update(member=member, lesson=lesson, completed=True)

    assert list(CourseMilestone.objects.filter(enrollment=enrollment).values_list("percent", flat=True)) == [
        25,
        50,
        75,
        100,
    ]
    keys = set(UserAchievement.objects.filter(user=member).values_list("key", flat=True))
    assert {f"course:{course.pk}:{p}" for p in (25, 50, 75, 100)} <= keys
    certificate = CourseCertificate.objects.get(enrollment=enrollment)
    assert len(certificate.verification_code) >= 20
    assert certificate.certificate_name == member.get_full_name()
    enrollment.refresh_from_db()
    assert enrollment.completed_at is not None
    assert notice_types(member).count("course_milestone") == 3
    assert notice_types(member).count("course_completed") == 1


def test_single_lesson_course_crosses_all_milestones_with_one_notice(member):
    course, enrollment = _enrolled(member, lessons=1, modules=1)
    course_progress_update(member=member, lesson=lessons_of(course)[0], completed=True)
    assert CourseMilestone.objects.filter(enrollment=enrollment).count() == 4
    assert notice_types(member).count("course_completed") == 1
    assert "course_milestone" not in notice_types(member)


def test_only_published_lessons_count(member):
    course, enrollment = _enrolled(member, lessons=2, modules=1)
    module = lessons_of(course)[0].module
    CourseLessonFactory(module=module, status="draft")
    course_progress_update(member=member, lesson=lessons_of(course)[0], completed=True)
    enrollment.refresh_from_db()
    assert enrollment.progress_percent == 50


def test_adding_lessons_keeps_completion_and_certificate(member):
    course, enrollment = _enrolled(member, lessons=2, modules=1)
    for lesson in lessons_of(course):
        course_progress_update(member=member, lesson=lesson, completed=True)
    certificate = CourseCertificate.objects.get(enrollment=enrollment)
    completed_at = CourseEnrollment.objects.get(pk=enrollment.pk).completed_at

    new = CourseLessonFactory.build(module=lessons_of(course)[0].module, position=99, status="published")
    lesson_save(lesson=new)

    enrollment.refresh_from_db()
    assert enrollment.progress_percent == 66
    assert enrollment.lessons_completed == 2
    assert enrollment.completed_at == completed_at
    assert CourseCertificate.objects.get(enrollment=enrollment).pk == certificate.pk
    assert CourseMilestone.objects.filter(enrollment=enrollment, percent=100).exists()
    stats = UserCourseStats.objects.get(enrollment=enrollment)
    assert (stats.percent, stats.lessons_completed, stats.lessons_total) == (66, 2, 3)

    course_progress_update(member=member, lesson=new, completed=True)
    assert CourseCertificate.objects.filter(enrollment=enrollment).count() == 1
    assert CourseMilestone.objects.filter(enrollment=enrollment, percent=100).count() == 1


def test_views_on_a_member_half_way_through(member, other_member):
    course, enrollment = _enrolled(member, lessons=4, modules=2)
    CourseEnrollmentFactory(user=other_member, course=course)
    lessons = lessons_of(course)
    course_progress_update(member=member, lesson=lessons[0], completed=True, time_spent_seconds=300)
    course_progress_update(member=member, lesson=lessons[1], completed=True, time_spent_seconds=240)
    course_progress_update(member=member, lesson=lessons[2], time_spent_seconds=60)

    stats = UserCourseStats.objects.get(enrollment=enrollment)
    assert stats.user_id == member.pk
    assert stats.course_id == course.pk
    assert stats.has_access is True
    assert (stats.lessons_completed, stats.lessons_total, stats.percent) == (2, 4, 50)
    assert stats.time_spent_seconds == 600
    assert stats.last_activity_at is not None
    assert stats.completed_at is None

    overview = CourseOverview.objects.get(course=course)
    assert (overview.modules_count, overview.lessons_count) == (2, 4)
    assert (overview.enrollments_count, overview.completions_count) == (2, 0)
    assert overview.completion_rate == 0
    assert overview.revenue == 0

    for lesson in lessons[2:]:
        course_progress_update(member=member, lesson=lesson, completed=True)
    overview = CourseOverview.objects.get(course=course)
    assert overview.completions_count == 1
    assert str(overview.completion_rate) == "50.0"


def test_a_failure_part_way_writes_nothing(member, monkeypatch):
    """Atomic: when awarding the milestone fails, no progress, detail, activity or milestone is left behind."""
    import courses.services.progress

    course, enrollment = _enrolled(member, lessons=4)
    lesson = lessons_of(course)[0]

    def broken(**kwargs):
        raise RuntimeError("achievement store unavailable")

    monkeypatch.setattr(courses.services.progress, "achievement_award", broken)
    with pytest.raises(RuntimeError):
        course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=60)

    assert not CourseProgress.objects.filter(enrollment=enrollment).exists()
    assert not LessonCompletionDetail.objects.filter(progress__enrollment=enrollment).exists()
    assert not CourseActivityLog.objects.filter(enrollment=enrollment).exists()
    assert not CourseMilestone.objects.filter(enrollment=enrollment).exists()
    enrollment.refresh_from_db()
    assert (enrollment.lessons_completed, enrollment.progress_percent, enrollment.last_lesson_id) == (0, 0, None)
    assert notice_types(member) == []

    monkeypatch.undo()
    course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=60)
    enrollment.refresh_from_db()
    assert (enrollment.lessons_completed, enrollment.progress_percent) == (1, 25)


def test_archived_lessons_and_modules_do_not_count(member):
    course, enrollment = _enrolled(member, lessons=4, modules=2)
    lessons = lessons_of(course)
    course_progress_update(member=member, lesson=lessons[0], completed=True)
    enrollment.refresh_from_db()
    assert enrollment.progress_percent == 25
    lessons[3].module.archive()  # the second module: lessons 3 and 4
    course_progress_update(member=member, lesson=lessons[1], completed=True)
    enrollment.refresh_from_db()
    assert (enrollment.lessons_completed, enrollment.progress_percent) == (2, 100)
    assert CourseCertificate.objects.filter(enrollment=enrollment).exists()


def test_percent_of_the_view_and_the_enrollment_agree_half_way(member):
    """The dashboard figures (user_course_stats) and the stored percent say the same for a half-way member."""
    course, enrollment = _enrolled(member, lessons=6, modules=3)
    for lesson in lessons_of(course)[:3]:
        course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=100)
    enrollment.refresh_from_db()
    stats = UserCourseStats.objects.get(enrollment=enrollment)
    assert (enrollment.progress_percent, stats.percent) == (50, 50)
    assert (enrollment.lessons_completed, stats.lessons_completed, stats.lessons_total) == (3, 3, 6)
    assert stats.time_spent_seconds == 300 and stats.time_spent_minutes == 5
    assert list(CourseMilestone.objects.filter(enrollment=enrollment).values_list("percent", flat=True)) == [25, 50]


# --- A page view in one statement (lesson_view_record) ----------------------------------------


def _rows(enrollment, lesson) -> dict:
    progress = CourseProgress.objects.select_related("detail").get(enrollment=enrollment, lesson=lesson)
    enrollment.refresh_from_db()
    activity = list(
        CourseActivityLog.objects.filter(enrollment=enrollment)
        .order_by("created_at")
        .values_list("activity_type", "lesson_id", "details")
    )
    return {
        "status": progress.status,
        "last_slide_index": progress.last_slide_index,
        "completed_at": progress.completed_at is not None,
        "first_is_last": progress.first_viewed_at == progress.last_viewed_at,
        "detail": (
            progress.detail.time_spent_seconds,
            progress.detail.slides_seen,
            progress.detail.slides_total,
            progress.detail.view_count,
        ),
        "activity": [(kind, lesson_id == lesson.pk, details) for kind, lesson_id, details in activity],
        "last_lesson": enrollment.last_lesson_id == lesson.pk,
        "last_activity": enrollment.last_activity_at == progress.last_viewed_at,
    }


def test_a_view_writes_what_the_progress_service_writes_for_a_view(member, other_member):
    from courses.services import lesson_view_record

    course, by_service = _enrolled(member)
    by_statement = CourseEnrollmentFactory(user=other_member, course=course)
    lesson = lessons_of(course)[1]
    lesson.refresh_from_db()  # slides loaded, as the lesson page's outline loads them
    for _ in range(2):  # a first view creates the rows, a second one moves them on
        course_progress_update(member=member, lesson=lesson)
        lesson_view_record(enrollment=by_statement, lesson=lesson)
        assert _rows(by_statement, lesson) == _rows(by_service, lesson)
    assert _rows(by_statement, lesson)["detail"][3] == 2
    assert _rows(by_statement, lesson)["first_is_last"] is False


def test_a_view_is_one_statement_and_never_undoes_a_completion(member, django_assert_num_queries):
    from courses.services import lesson_view_record

    course, enrollment = _enrolled(member)
    lesson = lessons_of(course)[0]
    lesson.refresh_from_db()
    course_progress_update(member=member, lesson=lesson, completed=True, slide_index=3)
    with django_assert_num_queries(1):
        view = lesson_view_record(enrollment=enrollment, lesson=lesson)
    progress = CourseProgress.objects.get(pk=view.progress_id)
    assert (view.status, view.last_slide_index) == ("completed", 3)
    assert progress.status == "completed" and progress.completed_at is not None
    enrollment.refresh_from_db()
    assert enrollment.lessons_completed == 1  # the completion's count stands


def test_a_view_without_access_writes_nothing(member):
    from courses.services import lesson_view_record

    course, enrollment = _enrolled(member)
    CourseEnrollment.objects.filter(pk=enrollment.pk).update(access_revoked_at="2026-01-01T00:00:00Z")
    enrollment.refresh_from_db()
    with pytest.raises(ApplicationError):
        lesson_view_record(enrollment=enrollment, lesson=lessons_of(course)[0])
    assert not CourseProgress.objects.filter(enrollment=enrollment).exists()


def test_a_view_today_counts_for_weekly_consistency_at_once(client, member):
    """The kept weeks are dropped by the view, so the dashboard shows today at once."""
    from accounts.selectors import consistency_get
    from courses.services import lesson_view_record

    course, enrollment = _enrolled(member)
    lesson = lessons_of(course)[0]
    lesson.refresh_from_db()
    assert consistency_get(member=member).weeks[-1].active_days == 0  # kept now
    lesson_view_record(enrollment=enrollment, lesson=lesson)
    assert consistency_get(member=member).weeks[-1].active_days == 1
