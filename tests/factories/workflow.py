"""Rows of the approval workflow (bloom/workflow_models.py), and staff holding its permissions."""

import factory
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from bloom.workflow_models import ContentApprovalPolicy, ContentWorkflowEvent, ContentWorkflowState, WorkflowState
from tests.factories.accounts import StaffUserFactory
from tests.factories.courses import CourseLessonFactory


def staff_with_permissions(*perms: str, **fields):
    """A staff member (with TOTP, so the admin lets them in) holding `perms` ("app.codename"),
    fetched again so no permission cache is stale."""
    user = StaffUserFactory(**fields)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return type(user).objects.get(pk=user.pk)


class _ItemRowFactory(factory.django.DjangoModelFactory):
    """A row about one item: a draft lesson unless `item=` names another object."""

    class Meta:
        abstract = True
        exclude = ("item",)

    item = factory.SubFactory(CourseLessonFactory, status="draft")
    content_type = factory.LazyAttribute(lambda o: ContentType.objects.get_for_model(o.item))
    object_id = factory.LazyAttribute(lambda o: o.item.pk)


class ContentWorkflowStateFactory(_ItemRowFactory):
    class Meta:
        model = ContentWorkflowState

    state = WorkflowState.DRAFT
    title = factory.LazyAttribute(lambda o: str(o.item))


class ContentWorkflowEventFactory(_ItemRowFactory):
    class Meta:
        model = ContentWorkflowEvent

    from_state = WorkflowState.DRAFT
    to_state = WorkflowState.IN_REVIEW


_POLICY_TYPES = (
    ("courses", "courselesson"),
    ("courses", "coursemodule"),
    ("courses", "course"),
    ("workshops", "workshop"),
    ("content", "blogpost"),
    ("notifications", "emailtemplate"),
    ("content", "newslettercampaign"),
)


class ContentApprovalPolicyFactory(factory.django.DjangoModelFactory):
    """The two-person rule for lessons, off (it is on when a type has no row)."""

    class Meta:
        model = ContentApprovalPolicy
        django_get_or_create = ("content_type",)

    # The first is lessons; later rows take the other content types, so two rows never collide.
    content_type = factory.Sequence(
        lambda n: ContentType.objects.get_by_natural_key(*_POLICY_TYPES[n % len(_POLICY_TYPES)])
    )
    two_person_rule = False
