"""Rows of the approval workflow (bloom/workflow_models.py)."""

import factory
from django.contrib.contenttypes.models import ContentType

from bloom.workflow_models import ContentApprovalPolicy, ContentWorkflowEvent, ContentWorkflowState, WorkflowState
from tests.factories.courses import CourseLessonFactory


class ContentWorkflowStateFactory(factory.django.DjangoModelFactory):
    """The workflow row of a (draft) lesson; pass `item=` for another object."""

    class Meta:
        model = ContentWorkflowState
        exclude = ("item",)

    item = factory.SubFactory(CourseLessonFactory, status="draft")
    content_type = factory.LazyAttribute(lambda o: ContentType.objects.get_for_model(o.item))
    object_id = factory.LazyAttribute(lambda o: o.item.pk)
    state = WorkflowState.DRAFT
    title = factory.LazyAttribute(lambda o: str(o.item))


class ContentWorkflowEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentWorkflowEvent
        exclude = ("item",)

    item = factory.SubFactory(CourseLessonFactory, status="draft")
    content_type = factory.LazyAttribute(lambda o: ContentType.objects.get_for_model(o.item))
    object_id = factory.LazyAttribute(lambda o: o.item.pk)
    from_state = WorkflowState.DRAFT
    to_state = WorkflowState.IN_REVIEW


class ContentApprovalPolicyFactory(factory.django.DjangoModelFactory):
    """The two-person rule for lessons, off (it is on when a type has no row)."""

    class Meta:
        model = ContentApprovalPolicy
        django_get_or_create = ("content_type",)

    content_type = factory.LazyFunction(lambda: ContentType.objects.get(app_label="courses", model="courselesson"))
    two_person_rule = False
