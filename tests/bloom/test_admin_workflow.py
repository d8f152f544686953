"""The approval workflow in the admin: the section on each change page, its buttons, the review queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bloom import workflow
from bloom.workflow_models import ContentWorkflowState, WorkflowState
from courses.models import CourseLesson, PublishStatus
from tests.factories.content import BlogPostFactory
from tests.factories.courses import CourseLessonFactory
from tests.factories.notifications import EmailTemplateFactory
from tests.factories.workflow import ContentWorkflowStateFactory, staff_with_permissions
from tests.factories.workshops import WorkshopFactory

pytestmark = pytest.mark.django_db


def _staff(client, *perms):
    user = staff_with_permissions(*perms)
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    settings.BLOOM_PRACTICE_TIME_ZONE = "America/Los_Angeles"


def _action(lesson, name):
    return reverse("admin:courses_courselesson_workflow", args=[lesson.pk, name])


def _change(lesson):
    return reverse("admin:courses_courselesson_change", args=[lesson.pk])


def test_author_sees_submit_only_and_submitting_records_the_comment(client):
    author = _staff(client, "courses.view_courselesson", "courses.change_courselesson")
    lesson = CourseLessonFactory(status=PublishStatus.DRAFT)
    page = client.get(_change(lesson)).content.decode()
    assert "Approval and publishing" in page and "Submit for review" in page
    assert "Approve" not in page and "Publish now" not in page
    response = client.post(_action(lesson, "submit"), {"workflow_comment": "First draft done"}, follow=True)
    assert "Submitted for review." in response.content.decode()
    event = workflow.content_workflow_history(obj=lesson).get()
    assert (event.actor, event.to_state, event.comment) == (author, "in_review", "First draft done")
    assert "First draft done" in client.get(_change(lesson)).content.decode()  # the history on the page


def test_reviewer_schedules_in_the_practice_zone_and_sees_it_back(client):
    lesson = CourseLessonFactory(status=PublishStatus.DRAFT)
    ContentWorkflowStateFactory(item=lesson, state=WorkflowState.APPROVED)
    _staff(client, "courses.view_courselesson", "courses.change_courselesson", workflow.APPROVE_PERMISSION)
    day = (timezone.now() + timedelta(days=3)).date()
    response = client.post(
        _action(lesson, "schedule"), {"workflow_publish_at": f"{day}T09:30", "workflow_comment": ""}, follow=True
    )
    row = ContentWorkflowState.objects.get(object_id=lesson.pk)
    assert row.state == WorkflowState.SCHEDULED
    assert timezone.localtime(row.publish_at, timezone.get_fixed_timezone(0)).hour in (16, 17)  # 09:30 LA is UTC-7/-8
    page = response.content.decode()
    assert "09:30 (America/Los_Angeles)" in page


def test_a_refused_step_says_why_and_keeps_what_was_typed(client):
    lesson = CourseLessonFactory(status=PublishStatus.DRAFT)
    ContentWorkflowStateFactory(item=lesson, state=WorkflowState.IN_REVIEW)
    _staff(client, "courses.view_courselesson", "courses.change_courselesson", workflow.APPROVE_PERMISSION)
    response = client.post(_action(lesson, "request_changes"), {"workflow_comment": "   "}, follow=True)
    assert "Say what should change" in response.content.decode()
    response = client.post(_action(lesson, "schedule"), {"workflow_comment": "Kept words"}, follow=True)
    page = response.content.decode()
    assert "Choose a publication time in the future." in page and "Kept words" in page
    assert ContentWorkflowState.objects.get(object_id=lesson.pk).state == WorkflowState.IN_REVIEW


def test_unpublish_asks_for_confirmation_first(client):
    lesson = CourseLessonFactory(status=PublishStatus.PUBLISHED)
    _staff(client, "courses.view_courselesson", "courses.change_courselesson", workflow.APPROVE_PERMISSION)
    response = client.post(_action(lesson, "unpublish"))
    assert response.status_code == 200 and "It leaves the site for members" in response.content.decode()
    assert CourseLesson.objects.get(pk=lesson.pk).status == PublishStatus.PUBLISHED
    client.post(_action(lesson, "unpublish"), {"confirm": "yes"})
    assert CourseLesson.objects.get(pk=lesson.pk).status == PublishStatus.DRAFT


def test_the_action_url_is_post_only_and_hidden_from_staff_who_cannot_see_the_item(client):
    lesson = CourseLessonFactory(status=PublishStatus.DRAFT)
    _staff(client, "content.view_blogpost")
    assert client.get(_action(lesson, "submit")).status_code in (302, 403, 404, 405)
    assert client.post(_action(lesson, "submit")).status_code in (403, 404)
    assert not ContentWorkflowState.objects.filter(object_id=lesson.pk).exists()


def test_review_queue_lists_items_in_review_filterable_by_type(client):
    lesson = CourseLessonFactory(status=PublishStatus.DRAFT, title="Lesson waiting")
    post = BlogPostFactory(title="Post waiting")
    ContentWorkflowStateFactory(item=lesson, state=WorkflowState.IN_REVIEW)
    ContentWorkflowStateFactory(item=post, state=WorkflowState.IN_REVIEW)
    ContentWorkflowStateFactory(item=WorkshopFactory(title="Workshop approved"), state=WorkflowState.APPROVED)
    _staff(client, "bloom.view_contentworkflowstate")
    url = reverse("admin:bloom_contentworkflowstate_changelist")
    page = client.get(url).content.decode()
    assert "Lesson waiting" in page and "Post waiting" in page and "Workshop approved" not in page
    lesson_type = ContentWorkflowState.objects.get(object_id=lesson.pk).content_type_id
    page = client.get(url, {"type": lesson_type}).content.decode()
    assert "Lesson waiting" in page and "Post waiting" not in page
    assert "Workshop approved" in client.get(url, {"state": "all"}).content.decode()


@pytest.mark.parametrize(
    "make, admin_name",
    [
        (lambda: BlogPostFactory(), "content_blogpost"),
        (lambda: WorkshopFactory(status="draft"), "workshops_workshop"),
        (lambda: EmailTemplateFactory(), "notifications_emailtemplate"),
    ],
)
def test_every_content_type_change_page_has_the_section(admin_client, make, admin_name):
    obj = make()
    page = admin_client.get(reverse(f"admin:{admin_name}_change", args=[obj.pk])).content.decode()
    assert "Approval and publishing" in page and "Submit for review" in page
