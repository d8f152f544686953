"""Staff side: archive vs delete, content versions with diff and restore, read-only views, orphans, demo."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from bloom.orphans import orphan_checks
from courses.models import Course, CourseContentVersion, CourseEnrollment, CourseLesson, CourseProgress
from courses.services import course_progress_update, lesson_save
from tests.courses.conftest import build_course, lessons_of
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseEnrollmentFactory, CourseProgressFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def test_deleting_a_course_with_enrollments_is_refused(staff_client):
    course = build_course()
    CourseEnrollmentFactory(course=course)
    response = staff_client.post(reverse("admin:courses_course_delete", args=[course.pk]), {"post": "yes"}, follow=True)
    assert Course.all_objects.filter(pk=course.pk).exists()
    assert "cannot be deleted: 1 member enrollment" in response.content.decode()


def test_deleting_an_unheld_course_works(staff_client):
    course = build_course(lessons=0, modules=0)
    staff_client.post(reverse("admin:courses_course_delete", args=[course.pk]), {"post": "yes"})
    assert not Course.all_objects.filter(pk=course.pk).exists()


def test_archiving_hides_the_course_but_keeps_enrollments_and_access(staff_client, client):
    course = build_course(lessons=1, modules=1)
    enrollment = CourseEnrollmentFactory(course=course)
    staff_client.post(
        reverse("admin:courses_course_changelist"), {"action": "archive", "_selected_action": [str(course.pk)]}
    )
    course.refresh_from_db()
    assert course.archived_at is not None
    assert not Course.objects.filter(pk=course.pk).exists()
    assert CourseEnrollment.objects.get(pk=enrollment.pk).has_access
    # The admin still lists archived courses.
    assert course.title in staff_client.get(reverse("admin:courses_course_changelist")).content.decode()
    # The member keeps the course; the public catalog does not show it.
    member_client = client.__class__()
    member_client.force_login(enrollment.user)
    assert member_client.get(reverse("courses:course_detail", args=[course.slug])).status_code == 200
    assert course.title not in member_client.get(reverse("courses:course_list")).content.decode()
    orphans = {check.name: check.find().count() for label, check in orphan_checks() if label == "courses"}
    assert all(count == 0 for count in orphans.values()), orphans


def test_staff_edits_write_versions_and_restore_one(staff_client):
    course = build_course(lessons=1, modules=1)
    lesson = lessons_of(course)[0]
    change = reverse("admin:courses_courselesson_change", args=[lesson.pk])
    form = {
        "module": str(lesson.module_id),
        "title": "Breathing",
        "summary": "",
        "slides_html": "<p>Breathe in</p>\n<!-- slide -->\n<p>Breathe out</p><script>x()</script>",
        "video_url": "",
        "duration_minutes": "5",
        "position": "0",
        "status": "published",
        "is_preview": "",
    }
    assert staff_client.post(change, form).status_code == 302
    form.update(title="Slow breathing", slides_html="<p>Breathe in for four</p>\n<!-- slide -->\n<p>Breathe out</p>")
    assert staff_client.post(change, form).status_code == 302

    versions = list(CourseContentVersion.objects.filter(lesson=lesson).order_by("version_number"))
    assert [v.snapshot["title"] for v in versions] == ["Breathing", "Slow breathing"]
    assert versions[0].snapshot["slides"] == ["<p>Breathe in</p>", "<p>Breathe out</p>"]
    assert all(v.changed_by_id == staff_client.staff.pk for v in versions)

    # Saving without a change writes no version.
    staff_client.post(change, form)
    assert CourseContentVersion.objects.filter(lesson=lesson).count() == 2

    compare = reverse("admin:courses_courselesson_compare", args=[lesson.pk])
    body = staff_client.get(compare, {"a": versions[0].pk, "b": versions[1].pk}).content.decode()
    assert "for&nbsp;four" in body
    assert "diff_" in body

    restore = reverse("admin:courses_courselesson_restore", args=[lesson.pk, versions[0].pk])
    assert staff_client.post(restore).status_code == 302
    lesson = CourseLesson.objects.get(pk=lesson.pk)
    assert lesson.title == "Breathing"
    assert lesson.slides == ["<p>Breathe in</p>", "<p>Breathe out</p>"]
    latest = CourseContentVersion.objects.filter(lesson=lesson).order_by("-version_number").first()
    assert (latest.version_number, latest.change_summary) == (3, "Restored version 1")


def test_video_outside_allow_list_is_refused_in_admin(staff_client):
    course = build_course(lessons=1, modules=1)
    lesson = lessons_of(course)[0]
    response = staff_client.post(
        reverse("admin:courses_courselesson_change", args=[lesson.pk]),
        {
            "module": str(lesson.module_id),
            "title": lesson.title,
            "slides_html": "<p>x</p>",
            "video_url": "https://evil.example/video.mp4",
            "duration_minutes": "5",
            "position": "0",
            "status": "published",
        },
    )
    assert response.status_code == 200
    assert "YouTube or Vimeo embed address" in response.content.decode()
    assert CourseLesson.objects.get(pk=lesson.pk).video_url == ""


def test_view_admin_pages_are_read_only(staff_client):
    build_course()
    for name in ("courseoverview", "usercoursestats", "courseenrollment", "courseprogress"):
        assert staff_client.get(reverse(f"admin:courses_{name}_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:courses_courseoverview_add")).status_code == 403


def test_admin_change_pages_render(staff_client):
    course = build_course(lessons=2, modules=1)
    lesson = lessons_of(course)[0]
    assert staff_client.get(reverse("admin:courses_course_change", args=[course.pk])).status_code == 200
    assert staff_client.get(reverse("admin:courses_coursemodule_change", args=[lesson.module_id])).status_code == 200
    assert staff_client.get(reverse("admin:courses_courselesson_change", args=[lesson.pk])).status_code == 200


def test_orphan_check_finds_progress_on_archived_lessons_and_fixes_it():
    member = UserFactory()
    course = build_course(lessons=2, modules=1)
    CourseEnrollmentFactory(user=member, course=course)
    first, second = lessons_of(course)
    course_progress_update(member=member, lesson=first, completed=True)
    course_progress_update(member=member, lesson=second, completed=True)
    second.archived_at = second.created_at
    lesson_save(lesson=second)

    checks = {check.name: check for label, check in orphan_checks() if label == "courses"}
    archived = checks["course_progress on archived lessons (of courses still offered)"]
    assert list(archived.find().values_list("lesson_id", flat=True)) == [second.pk]
    assert archived.fix(archived.find()) >= 1
    assert list(CourseProgress.objects.values_list("lesson_id", flat=True)) == [first.pk]
    # The course completion earned before stays.
    assert CourseEnrollment.objects.get(user=member).completed_at is not None


def test_orphan_check_finds_progress_of_another_course():
    progress = CourseProgressFactory()
    other_lesson = lessons_of(build_course(lessons=1, modules=1))[0]
    CourseProgress.objects.filter(pk=progress.pk).update(lesson=other_lesson)
    checks = {check.name: check for label, check in orphan_checks() if label == "courses"}
    mismatch = checks["course_progress whose lesson or member does not match its enrollment"]
    assert list(mismatch.find().values_list("pk", flat=True)) == [progress.pk]


def test_demo_seed_is_idempotent():
    from courses import demo

    out = io.StringIO()
    demo.seed(stdout=out)
    counts = (Course.objects.count(), CourseLesson.objects.count(), CourseContentVersion.objects.count())
    demo.seed(stdout=out)
    assert (Course.objects.count(), CourseLesson.objects.count(), CourseContentVersion.objects.count()) == counts
    paid = Course.objects.get(slug="calm-in-pregnancy-and-after-birth")
    assert paid.price > 0 and paid.is_published
    assert paid.resources.count() == 1
    assert CourseLesson.objects.filter(module__course=paid, is_preview=True).exists()
    assert Course.objects.filter(price=0).count() == 1
    for course in Course.objects.all():
        assert course.modules.count() >= 2
        lessons = CourseLesson.objects.filter(module__course=course)
        assert lessons.count() >= 3 and all(len(lesson.slides) >= 2 for lesson in lessons)
    worksheet = paid.resources.get()
    assert worksheet.lesson is not None and worksheet.file.read().startswith(b"My calm plan")


def test_publish_action_and_preview_link(staff_client):
    from django.test import Client

    client = Client()  # a visitor, beside the staff member's own client
    course = build_course(lessons=1, modules=1, status="draft", title="Not yet out")
    change = staff_client.get(reverse("admin:courses_course_change", args=[course.pk])).content.decode()
    assert reverse("courses:course_detail", args=[course.slug]) in change  # "View on site": preview as a member
    assert client.get(reverse("courses:course_detail", args=[course.slug])).status_code == 404
    staff_client.post(
        reverse("admin:courses_course_changelist"),
        {"action": "publish", "_selected_action": [str(course.pk)], "confirm": "yes"},
    )
    course.refresh_from_db()
    assert course.status == "published" and course.published_at is not None
    assert "Not yet out" in client.get(reverse("courses:course_list")).content.decode()


def _inline_management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_modules_are_reordered_inline_on_the_course_page(staff_client):
    course = build_course(lessons=2, modules=2)
    first, second = course.modules.order_by("position")
    data = {
        "title": course.title,
        "slug": course.slug,
        "subtitle": course.subtitle,
        "description": course.description,
        "instructor_name": "",
        "price": "0.00",
        "currency": "usd",
        "status": "published",
        "position": "0",
        **_inline_management("modules", 2, 2),
        "modules-0-id": str(first.pk),
        "modules-0-course": str(course.pk),
        "modules-0-position": "2",
        "modules-0-title": first.title,
        "modules-0-drip_days": "",
        "modules-1-id": str(second.pk),
        "modules-1-course": str(course.pk),
        "modules-1-position": "1",
        "modules-1-title": "Renamed week",
        "modules-1-drip_days": "7",
        **_inline_management("resources", 0, 0),
    }
    response = staff_client.post(reverse("admin:courses_course_change", args=[course.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(course.modules.order_by("position").values_list("pk", "title", "drip_days")) == [
        (second.pk, "Renamed week", 7),
        (first.pk, first.title, None),
    ]


def test_lessons_edited_inline_on_the_module_page_write_versions(staff_client):
    course = build_course(lessons=2, modules=1)
    module = course.modules.get()
    one, two = lessons_of(course)
    data = {
        "course": str(course.pk),
        "title": module.title,
        "description": "",
        "position": str(module.position),
        "drip_days": "",
        **_inline_management("lessons", 3, 2),
        "lessons-0-id": str(one.pk),
        "lessons-0-module": str(module.pk),
        "lessons-0-position": "1",
        "lessons-0-title": "First, renamed",
        "lessons-0-status": "published",
        "lessons-0-duration_minutes": "10",
        "lessons-1-id": str(two.pk),
        "lessons-1-module": str(module.pk),
        "lessons-1-position": "0",
        "lessons-1-title": two.title,
        "lessons-1-status": "published",
        "lessons-1-duration_minutes": "10",
        "lessons-2-module": str(module.pk),
        "lessons-2-position": "2",
        "lessons-2-title": "A new lesson",
        "lessons-2-status": "published",
        "lessons-2-duration_minutes": "5",
    }
    response = staff_client.post(reverse("admin:courses_coursemodule_change", args=[module.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [lesson.title for lesson in lessons_of(course)] == [two.title, "First, renamed", "A new lesson"]
    changed = CourseContentVersion.objects.filter(lesson__module=module, changed_by=staff_client.staff)
    assert set(changed.values_list("snapshot__title", flat=True)) >= {"First, renamed", "A new lesson"}


def test_view_figures_in_the_admin_for_a_member_half_way(staff_client):
    member = UserFactory(email="half.way@example.com")
    course = build_course(lessons=4, modules=2, title="Figures course")
    CourseEnrollmentFactory(user=member, course=course)
    CourseEnrollmentFactory(course=course)
    for lesson in lessons_of(course)[:2]:
        course_progress_update(member=member, lesson=lesson, completed=True, time_spent_seconds=150)

    overview = staff_client.get(reverse("admin:courses_courseoverview_changelist"), {"q": "Figures"}).content.decode()
    row = overview[overview.index("Figures course") :]
    row = row[: row.index("</tr>")]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[:-1]]
    # status, modules, lessons, enrollments, completions, completion rate, revenue, archived
    assert cells[1:7] == ["2", "4", "2", "0", "0.0", "0.00"]

    stats = staff_client.get(reverse("admin:courses_usercoursestats_changelist"), {"q": "half.way"}).content.decode()
    row = stats[stats.index("half.way@example.com") :]
    row = row[: row.index("</tr>")]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[:-1]]
    # course, access icon, lessons done, lessons total, percent, time spent (s)
    assert cells[0] == "Figures course"
    assert cells[2:6] == ["2", "4", "50", "300"]


def test_a_used_discount_code_cannot_be_deleted(staff_client):
    from courses.models import CourseDiscountCode
    from tests.factories.courses import CourseDiscountCodeFactory

    used = CourseDiscountCodeFactory(code="USED", uses_count=3)
    unused = CourseDiscountCodeFactory(code="FRESH")
    response = staff_client.post(
        reverse("admin:courses_coursediscountcode_delete", args=[used.pk]), {"post": "yes"}, follow=True
    )
    assert CourseDiscountCode.objects.filter(pk=used.pk).exists()
    assert "was used 3 times and cannot be deleted" in response.content.decode()
    staff_client.post(reverse("admin:courses_coursediscountcode_delete", args=[unused.pk]), {"post": "yes"})
    assert not CourseDiscountCode.objects.filter(pk=unused.pk).exists()


def _enrollment_action(staff_client, action: str, enrollment, **extra):
    return staff_client.post(
        reverse("admin:courses_courseenrollment_changelist"),
        {"action": action, "_selected_action": [str(enrollment.pk)], **extra},
        follow=True,
    )


def test_staff_revoke_access_asks_first_needs_a_reason_and_can_be_restored(staff_client):
    from courses.models import ActivityType, CourseActivityLog
    from notifications.models import UserNotification as Notice

    enrollment = CourseEnrollmentFactory(payment_status="paid")

    # First the action shows what it will do and changes nothing.
    page = _enrollment_action(staff_client, "revoke_access", enrollment).content.decode()
    assert "End these members&#x27; access?" in page and enrollment.user.email in page
    # Confirming without a reason is refused, still changing nothing.
    page = _enrollment_action(staff_client, "revoke_access", enrollment, confirm="yes", reason="  ").content.decode()
    assert "Say why access is ending." in page
    assert CourseEnrollment.objects.get(pk=enrollment.pk).has_access

    _enrollment_action(staff_client, "revoke_access", enrollment, confirm="yes", reason="Card dispute lost")
    enrollment.refresh_from_db()
    assert not enrollment.has_access and enrollment.payment_status == "paid"
    log = CourseActivityLog.objects.get(enrollment=enrollment, activity_type=ActivityType.ACCESS_REVOKED)
    assert log.details == {"by_staff": str(staff_client.staff.pk), "reason": "Card dispute lost"}
    assert Notice.objects.filter(user=enrollment.user, type="course_access_revoked").count() == 1
    # Revoking again changes nothing and says so.
    page = _enrollment_action(staff_client, "revoke_access", enrollment, confirm="yes", reason="again").content.decode()
    assert "Access ended for 0 enrollments." in page

    page = _enrollment_action(staff_client, "restore_access", enrollment).content.decode()
    assert "Open the course again?" in page
    assert not CourseEnrollment.objects.get(pk=enrollment.pk).has_access
    _enrollment_action(staff_client, "restore_access", enrollment, confirm="yes")
    assert CourseEnrollment.objects.get(pk=enrollment.pk).has_access
    assert Notice.objects.filter(user=enrollment.user, type="course_access_restored").count() == 1


def test_access_ended_by_a_refund_cannot_be_restored_by_staff(staff_client):
    from django.utils import timezone

    enrollment = CourseEnrollmentFactory(payment_status="refunded", access_revoked_at=timezone.now())
    page = _enrollment_action(staff_client, "restore_access", enrollment, confirm="yes").content.decode()
    assert "has no paid place on" in page and "they can enroll again" in page
    assert not CourseEnrollment.objects.get(pk=enrollment.pk).has_access


def test_a_member_whose_access_staff_closed_cannot_reopen_it_by_enrolling_again(staff_client, client):
    course = build_course(lessons=2, modules=1)
    enrollment = CourseEnrollmentFactory(course=course, payment_status="free")
    _enrollment_action(staff_client, "revoke_access", enrollment, confirm="yes", reason="Asked to leave the group")

    member = client.__class__()
    member.force_login(enrollment.user)
    page = member.get(reverse("courses:course_detail", args=[course.slug])).content.decode()
    assert "The practice closed this course for you" in page and "Enroll for free" not in page
    response = member.post(reverse("courses:course_enroll", args=[course.slug]))
    assert response.status_code == 400 and "The practice closed this course for you" in response.content.decode()
    lesson = lessons_of(course)[0]
    response = member.get(reverse("courses:lesson_detail", args=[course.slug, lesson.pk]), follow=True)
    assert "The practice has closed this course for you." in response.content.decode()
    assert not CourseEnrollment.objects.get(pk=enrollment.pk).has_access


def test_admin_names_read_as_english():
    """Django's default plural adds an "s": a list of course progress read "0 course progresss"."""
    import re

    from django.contrib import admin

    plurals = {model._meta.verbose_name_plural for model in admin.site._registry}
    assert "course progress" in plurals
    assert not [plural for plural in plurals if re.search(r"sss\b", str(plural))]
