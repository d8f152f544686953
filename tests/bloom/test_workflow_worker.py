"""Beat's publishing task in a real Celery worker (the worker process and the test share the database)."""

from datetime import timedelta

from django.utils import timezone

from bloom import workflow
from bloom.tasks import content_publish_due_task
from bloom.workflow_models import ContentWorkflowState
from courses.models import CourseLesson, PublishStatus
from tests.factories.courses import CourseLessonFactory
from tests.factories.workflow import staff_with_permissions


def test_a_real_worker_publishes_a_due_lesson_once(celery_worker_process):
    lesson = CourseLessonFactory(status=PublishStatus.DRAFT)
    author = staff_with_permissions("courses.change_courselesson")
    reviewer = staff_with_permissions(workflow.APPROVE_PERMISSION)
    workflow.content_submit(obj=lesson, user=author)
    workflow.content_approve(obj=lesson, user=reviewer)
    workflow.content_schedule(obj=lesson, user=reviewer, publish_at=timezone.now() + timedelta(minutes=1))
    ContentWorkflowState.objects.filter(object_id=lesson.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    assert content_publish_due_task.delay().get(timeout=120) == {"published": 1, "refused": 0}
    assert CourseLesson.objects.get(pk=lesson.pk).status == PublishStatus.PUBLISHED
    assert content_publish_due_task.delay().get(timeout=120) == {"published": 0, "refused": 0}
