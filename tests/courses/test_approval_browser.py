"""Owner journey (issue 14 point 5): a lesson goes through review and is published on schedule.

The author submits a draft lesson from its admin page; a reviewer finds it in the review queue,
approves it and schedules it (a time typed in the practice zone); beat's task publishes it once
its time has come (the schedule is moved into the past and the task function run); the enrolled
member then sees the lesson. Staff sign in as every staff member does: with a TOTP authenticator
(StaffUserFactory), so the staff MFA middleware lets them into the admin.
"""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from bloom.tasks import content_publish_due_task
from bloom.workflow_models import ContentWorkflowState, WorkflowState
from courses.models import CourseLesson, PublishStatus
from tests.browser import BROWSER, PageProblems, launch, session_cookie_for
from tests.courses.conftest import build_course, lessons_of
from tests.factories.accounts import UserFactory
from tests.factories.courses import CourseEnrollmentFactory, CourseLessonFactory
from tests.factories.workflow import staff_with_permissions

pytestmark = BROWSER


@pytest.fixture
def journey(transactional_db, settings):
    settings.BLOOM_PRACTICE_TIME_ZONE = "America/Los_Angeles"
    course = build_course(lessons=1, modules=1, title="Sleep in the fourth trimester")
    lesson = CourseLessonFactory(
        module=lessons_of(course)[0].module, position=5, status=PublishStatus.DRAFT, title="Naps that count"
    )
    member = UserFactory(first_name="Ada")
    CourseEnrollmentFactory(user=member, course=course)
    author = staff_with_permissions("courses.view_courselesson", "courses.change_courselesson", first_name="Aroha")
    reviewer = staff_with_permissions(
        "courses.view_courselesson", "bloom.view_contentworkflowstate", "bloom.approve_content", first_name="Rui"
    )
    return course, lesson, member, author, reviewer


def _context(browser, live_server, user):
    context = browser.new_context()
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(user), "url": live_server.url}]
    )
    return context


def test_a_lesson_goes_through_review_and_is_published_on_schedule(live_server, journey):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    course, lesson, member, author, reviewer = journey
    lesson_admin = f"{live_server.url}/admin/courses/courselesson/{lesson.pk}/change/"
    with sync_playwright() as playwright:
        browser = launch(playwright)

        # --- The author submits the draft -------------------------------------------------
        context = _context(browser, live_server, author)
        problems = PageProblems(context, live_server.url)
        page = context.new_page()
        page.goto(lesson_admin)
        expect(page.get_by_text("Approval and publishing")).to_be_visible()
        page.get_by_label("Comment for the history").fill("Ready: three slides on daytime sleep.")
        page.get_by_role("button", name="Submit for review").click()
        expect(page.get_by_text("Submitted for review.")).to_be_visible()
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # authors cannot approve
        assert problems.take() == []
        context.close()

        # --- The reviewer approves it from the queue and schedules it ---------------------
        context = _context(browser, live_server, reviewer)
        problems = PageProblems(context, live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/bloom/contentworkflowstate/")
        page.get_by_role("link", name="Naps that count").click()
        expect(page.get_by_text("Ready: three slides on daytime sleep.")).to_be_visible()
        page.get_by_label("Comment for the history").fill("Kind and clear. Approved.")
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_text("Approved. It can now be published or scheduled.")).to_be_visible()
        day = (timezone.now() + timedelta(days=2)).date()
        page.get_by_label("Publish at (America/Los_Angeles)").fill(f"{day}T07:00")
        page.get_by_role("button", name="Schedule").click()
        expect(page.get_by_text(f"Publishes on {day:%a %d %b %Y}, 07:00 (America/Los_Angeles).")).to_be_visible()
        assert problems.take() == []

        # --- The member cannot see it yet -------------------------------------------------
        member_context = _context(browser, live_server, member)
        member_page = member_context.new_page()
        member_page.goto(f"{live_server.url}/courses/{course.slug}/")
        expect(member_page.get_by_text("Sleep in the fourth trimester").first).to_be_visible()
        expect(member_page.get_by_text("Naps that count")).to_have_count(0)

        # --- Its time comes: beat publishes it --------------------------------------------
        ContentWorkflowState.objects.filter(object_id=lesson.pk).update(
            publish_at=timezone.now() - timedelta(minutes=1)
        )
        assert content_publish_due_task() == {"published": 1, "refused": 0}
        assert CourseLesson.objects.get(pk=lesson.pk).status == PublishStatus.PUBLISHED
        assert ContentWorkflowState.objects.get(object_id=lesson.pk).state == WorkflowState.PUBLISHED

        page.reload()
        expect(page.get_by_text("Published on schedule.")).to_be_visible()  # in the history, by beat
        expect(page.get_by_role("button", name="Unpublish")).to_be_visible()
        context.close()

        # --- The enrolled member sees the lesson -----------------------------------------
        member_page.goto(f"{live_server.url}/courses/{course.slug}/")
        member_page.get_by_role("link", name="Naps that count").click()
        expect(member_page.get_by_role("heading", name="Naps that count")).to_be_visible()
        browser.close()
