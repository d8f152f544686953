"""The approval workflow for every kind of content (bloom/workflow.py, docs/adr/0390)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.utils import timezone

from bloom import workflow
from bloom.exceptions import ApplicationError
from bloom.tasks import content_publish_due_task
from bloom.workflow_models import ContentWorkflowEvent, ContentWorkflowState, WorkflowState
from content.models import BlogPost, CampaignStatus, NewsletterCampaign, PostStatus
from courses.models import Course, CourseLesson, PublishStatus
from notifications.models import EmailQueue
from tests.factories.content import BlogPostFactory
from tests.factories.courses import CourseFactory, CourseLessonFactory, CourseModuleFactory
from tests.factories.workflow import ContentApprovalPolicyFactory
from tests.factories.workflow import staff_with_permissions as staff_with
from tests.factories.workshops import WorkshopFactory
from workshops.models import Workshop, WorkshopStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return staff_with("courses.change_courselesson", "content.change_blogpost", "workshops.change_workshop")


@pytest.fixture
def reviewer():
    return staff_with("courses.change_courselesson", workflow.APPROVE_PERMISSION)


@pytest.fixture
def lesson():
    return CourseLessonFactory(status=PublishStatus.DRAFT, title="Sleep when the baby sleeps")


def history(obj) -> list[tuple[str, str, object, str]]:
    return [
        (e.from_state, e.to_state, e.actor, e.comment)
        for e in workflow.content_workflow_history(obj=obj).order_by("created_at", "id")
    ]


def approved(obj, author, reviewer):
    workflow.content_submit(obj=obj, user=author)
    workflow.content_approve(obj=obj, user=reviewer)


# --- Transitions -----------------------------------------------------------------------


def test_a_lesson_goes_from_draft_through_review_to_published_with_its_history(lesson, author, reviewer):
    assert workflow.content_workflow_state_get(obj=lesson).state == WorkflowState.DRAFT
    workflow.content_submit(obj=lesson, user=author, comment="Ready for a look")
    workflow.content_approve(obj=lesson, user=reviewer, comment="Lovely")
    lesson.refresh_from_db()
    assert lesson.status == PublishStatus.DRAFT  # approved is not yet live
    workflow.content_publish(obj=lesson, user=reviewer)
    lesson.refresh_from_db()
    assert lesson.status == PublishStatus.PUBLISHED
    assert history(lesson) == [
        ("draft", "in_review", author, "Ready for a look"),
        ("in_review", "approved", reviewer, "Lovely"),
        ("approved", "published", reviewer, ""),
    ]
    row = ContentWorkflowState.objects.get(object_id=lesson.pk)
    assert (row.state, row.submitted_by, row.approved_by) == ("published", author, reviewer)


def test_request_changes_sends_it_back_to_draft_and_needs_a_comment(lesson, author, reviewer):
    workflow.content_submit(obj=lesson, user=author)
    with pytest.raises(ApplicationError, match="Say what should change"):
        workflow.content_request_changes(obj=lesson, user=reviewer, comment="  ")
    workflow.content_request_changes(obj=lesson, user=reviewer, comment="Shorter slides, please")
    assert workflow.content_workflow_state_get(obj=lesson).state == WorkflowState.DRAFT
    assert history(lesson)[-1] == ("in_review", "draft", reviewer, "Shorter slides, please")
    workflow.content_submit(obj=lesson, user=author)  # and it can come back
    assert workflow.content_workflow_state_get(obj=lesson).state == WorkflowState.IN_REVIEW


def test_steps_out_of_order_are_refused_with_a_sentence_and_change_nothing(lesson, author, reviewer):
    with pytest.raises(ApplicationError, match="This lesson is draft, so it cannot be approved now"):
        workflow.content_approve(obj=lesson, user=reviewer)
    with pytest.raises(ApplicationError, match="cannot be published now"):
        workflow.content_publish(obj=lesson, user=reviewer)
    workflow.content_submit(obj=lesson, user=author)
    with pytest.raises(ApplicationError, match="in review, so it cannot be submitted"):
        workflow.content_submit(obj=lesson, user=author)
    assert len(history(lesson)) == 1


def test_authors_submit_but_only_reviewers_approve_publish_or_schedule(lesson, author, reviewer):
    outsider = staff_with()
    with pytest.raises(ApplicationError, match="You cannot edit course lessons"):
        workflow.content_submit(obj=lesson, user=outsider)
    workflow.content_submit(obj=lesson, user=author)
    with pytest.raises(ApplicationError, match="Only reviewers can approve"):
        workflow.content_approve(obj=lesson, user=author)
    workflow.content_approve(obj=lesson, user=reviewer)
    with pytest.raises(ApplicationError, match="Only reviewers can publish"):
        workflow.content_publish(obj=lesson, user=author)
    with pytest.raises(ApplicationError, match="Only reviewers can schedule"):
        workflow.content_schedule(obj=lesson, user=author, publish_at=timezone.now() + timedelta(hours=1))


def test_unpublish_takes_a_lesson_down_back_to_draft(lesson, author, reviewer):
    approved(lesson, author, reviewer)
    workflow.content_publish(obj=lesson, user=reviewer)
    workflow.content_unpublish(obj=lesson, user=reviewer, comment="Out of date")
    lesson.refresh_from_db()
    assert lesson.status == PublishStatus.DRAFT
    assert history(lesson)[-1] == ("published", "draft", reviewer, "Out of date")


def test_content_published_before_the_workflow_starts_as_published(reviewer):
    live = CourseLessonFactory(status=PublishStatus.PUBLISHED)
    assert workflow.content_workflow_state_get(obj=live).state == WorkflowState.PUBLISHED
    workflow.content_unpublish(obj=live, user=reviewer)
    assert CourseLesson.objects.get(pk=live.pk).status == PublishStatus.DRAFT


def test_schedule_unschedule_and_a_time_in_the_past(lesson, author, reviewer):
    approved(lesson, author, reviewer)
    with pytest.raises(ApplicationError, match="in the future"):
        workflow.content_schedule(obj=lesson, user=reviewer, publish_at=timezone.now() - timedelta(minutes=1))
    when = timezone.now() + timedelta(days=1)
    workflow.content_schedule(obj=lesson, user=reviewer, publish_at=when)
    row = ContentWorkflowState.objects.get(object_id=lesson.pk)
    assert (row.state, row.publish_at) == ("scheduled", when)
    workflow.content_unschedule(obj=lesson, user=reviewer)
    row.refresh_from_db()
    assert (row.state, row.publish_at) == ("approved", None)


# --- Two-person rule -------------------------------------------------------------------


def test_two_person_rule_refuses_the_submitter_as_approver(lesson):
    both = staff_with("courses.change_courselesson", workflow.APPROVE_PERMISSION)
    workflow.content_submit(obj=lesson, user=both)
    with pytest.raises(ApplicationError, match="two-person rule is on for course lessons: someone other than"):
        workflow.content_approve(obj=lesson, user=both)
    assert workflow.content_workflow_state_get(obj=lesson).state == WorkflowState.IN_REVIEW


def test_two_person_rule_can_be_turned_off_per_type(lesson):
    lessons = ContentType.objects.get_for_model(CourseLesson)
    ContentApprovalPolicyFactory(content_type=lessons, two_person_rule=False)  # lessons only
    both = staff_with("courses.change_courselesson", "courses.change_coursemodule", workflow.APPROVE_PERMISSION)
    workflow.content_submit(obj=lesson, user=both)
    workflow.content_approve(obj=lesson, user=both)
    assert workflow.content_workflow_state_get(obj=lesson).state == WorkflowState.APPROVED
    module = CourseModuleFactory()
    workflow.content_submit(obj=module, user=both)
    with pytest.raises(ApplicationError, match="two-person rule"):
        workflow.content_approve(obj=module, user=both)


def test_two_person_rule_also_keeps_a_posts_author_from_approving_it(author):
    writer = staff_with("content.change_blogpost", workflow.APPROVE_PERMISSION)
    post = BlogPostFactory(status=PostStatus.DRAFT, author=writer.admin_user)
    workflow.content_submit(obj=post, user=author)  # someone else submits it
    post.refresh_from_db()
    assert post.status == PostStatus.IN_REVIEW  # the post's own status follows the workflow
    with pytest.raises(ApplicationError, match="two-person rule"):
        workflow.content_approve(obj=post, user=writer)


# --- Scheduled publishing by beat ------------------------------------------------------


def test_beat_publishes_a_due_lesson_once_and_the_enrolled_member_sees_it(lesson, author, reviewer):
    approved(lesson, author, reviewer)
    workflow.content_schedule(obj=lesson, user=reviewer, publish_at=timezone.now() + timedelta(hours=2))
    assert content_publish_due_task() == {"published": 0, "refused": 0}  # not due yet
    ContentWorkflowState.objects.filter(object_id=lesson.pk).update(publish_at=timezone.now() - timedelta(minutes=1))
    assert content_publish_due_task() == {"published": 1, "refused": 0}
    assert content_publish_due_task() == {"published": 0, "refused": 0}  # idempotent
    lesson.refresh_from_db()
    assert lesson.status == PublishStatus.PUBLISHED
    assert history(lesson)[-1] == ("scheduled", "published", None, "Published on schedule.")
    assert ContentWorkflowEvent.objects.filter(object_id=lesson.pk, to_state="published").count() == 1


def test_beat_publishes_a_due_post_with_its_date(author):
    reviewer = staff_with(workflow.APPROVE_PERMISSION)
    post = BlogPostFactory(status=PostStatus.DRAFT)
    approved(post, author, reviewer)
    workflow.content_schedule(obj=post, user=reviewer, publish_at=timezone.now() + timedelta(minutes=5))
    assert BlogPost.objects.get(pk=post.pk).status == PostStatus.APPROVED
    workflow.content_publish_due(now=timezone.now() + timedelta(minutes=6))
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED and post.published_at is not None


def test_beat_refusal_by_a_guard_returns_the_course_to_approved_with_the_reason_and_tells_staff(
    author, reviewer, settings, django_capture_on_commit_callbacks
):
    settings.BLOOM_STAFF_ALERT_EMAIL = "care@bloom.test"
    empty = CourseFactory(status=PublishStatus.DRAFT, published_at=None, title="Coming soon")
    author = staff_with("courses.change_course")
    approved(empty, author, reviewer)
    workflow.content_schedule(obj=empty, user=reviewer, publish_at=timezone.now() + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = workflow.content_publish_due(now=timezone.now() + timedelta(minutes=2))
    assert (len(result.published), len(result.refused)) == (0, 1)
    assert Course.all_objects.get(pk=empty.pk).status == PublishStatus.DRAFT
    row = ContentWorkflowState.objects.get(object_id=empty.pk)
    assert row.state == WorkflowState.APPROVED and "has no published lessons" in row.refusal
    last = history(empty)[-1]
    assert last[:3] == ("scheduled", "approved", None) and "Not published on schedule" in last[3]
    alert = EmailQueue.objects.get(to_email="care@bloom.test", template_key="notifications/staff_publish_refused")
    assert "Coming soon" in alert.subject
    # Not retried every minute: it left the schedule.
    assert workflow.content_publish_due(now=timezone.now() + timedelta(minutes=3)).refused == []


def test_beat_refusal_for_a_workshop_without_a_host(author, reviewer):
    workshop = WorkshopFactory(status=WorkshopStatus.DRAFT, facilitator=None)
    approved(workshop, author, reviewer)
    workflow.content_schedule(obj=workshop, user=reviewer, publish_at=timezone.now() + timedelta(minutes=1))
    result = workflow.content_publish_due(now=timezone.now() + timedelta(minutes=2))
    assert "Choose who hosts the workshop" in result.refused[0][1]
    assert Workshop.all_objects.get(pk=workshop.pk).status == WorkshopStatus.DRAFT


def test_publish_now_refused_by_a_guard_changes_nothing(author, reviewer):
    empty = CourseFactory(status=PublishStatus.DRAFT, published_at=None)
    author = staff_with("courses.change_course")
    approved(empty, author, reviewer)
    with pytest.raises(ApplicationError, match="no published lessons"):
        workflow.content_publish(obj=empty, user=reviewer)
    assert workflow.content_workflow_state_get(obj=empty).state == WorkflowState.APPROVED
    assert len(history(empty)) == 2


def test_publishing_a_campaign_to_an_empty_audience_is_refused(reviewer):
    writer = staff_with("content.change_newslettercampaign")
    campaign = NewsletterCampaign.objects.create(subject="Hello", body_html="<p>Hi</p>")
    approved(campaign, writer, reviewer)
    with pytest.raises(ApplicationError):
        workflow.content_publish(obj=campaign, user=reviewer)
    assert NewsletterCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert not mail.outbox


def test_every_kind_named_in_the_issue_is_registered():
    labels = {kind.model._meta.label_lower for kind in workflow.workflow_kinds()}
    assert {
        "content.blogpost",
        "courses.courselesson",
        "courses.coursemodule",
        "workshops.workshop",
        "notifications.emailtemplate",
        "content.newslettercampaign",
    } <= labels


def test_a_status_changed_outside_the_workflow_is_brought_in_line_with_a_history_entry(lesson, author, reviewer):
    approved(lesson, author, reviewer)
    lesson.status = PublishStatus.PUBLISHED  # the older "Publish selected lessons" action
    lesson.save()
    assert workflow.content_workflow_state_get(obj=lesson).state == WorkflowState.PUBLISHED
    workflow.content_unpublish(obj=lesson, user=reviewer)
    assert [h[:3] for h in history(lesson)[-2:]] == [("approved", "published", None), ("published", "draft", reviewer)]
