"""The approval workflow's tables, shared by every kind of content (docs/adr/0390).

Keyed by content type and object id, so courses, workshops, notifications and content all use
one mechanism without this layer importing them. The item's own status column (a lesson's
`status`, a post's `status`) keeps its meaning for members; these rows say where the item is
in review and what happened to it.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from bloom.fields import choice_constraint, choice_field, optional_user_fk

# bloom.models imports this module at its end, after these are defined.
from bloom.models import created_at_field, uuid_pk


class WorkflowState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"


class ContentWorkflowState(models.Model):
    """Where one item is in the workflow now: its state, who submitted and approved it, its schedule."""

    id = uuid_pk()
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.UUIDField()
    state = choice_field(WorkflowState, max_length=20, default=WorkflowState.DRAFT, db_default=True)
    submitted_by = optional_user_fk()
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = optional_user_fk()
    approved_at = models.DateTimeField(null=True, blank=True)
    publish_at = models.DateTimeField(null=True, blank=True, help_text="When beat publishes a scheduled item.")
    refusal = models.TextField(
        blank=True, default="", db_default="", help_text="Why the last publication was refused (empty: it was not)."
    )
    title = models.CharField(max_length=300, blank=True, default="", help_text="The item's name when last moved.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "content_workflow_states"
        ordering = ["-updated_at"]
        verbose_name = "content in review"
        verbose_name_plural = "review queue"
        permissions = [("approve_content", "Can approve, schedule and publish content")]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id"], name="content_workflow_states_item_uniq"),
            choice_constraint("content_workflow_states", "state", WorkflowState),
            models.CheckConstraint(
                condition=~Q(state=WorkflowState.SCHEDULED) | Q(publish_at__isnull=False),
                name="content_workflow_states_scheduled_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["publish_at"], name="content_workflow_due_idx", condition=Q(state=WorkflowState.SCHEDULED)
            ),
            models.Index(fields=["state", "content_type"], name="content_workflow_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title or self.object_id}: {self.get_state_display()}"


class ContentWorkflowEvent(models.Model):
    """One transition of one item: who (none: beat), when, from which state to which, and the comment."""

    id = uuid_pk()
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.UUIDField()
    actor = optional_user_fk()
    from_state = choice_field(WorkflowState, max_length=20)
    to_state = choice_field(WorkflowState, max_length=20)
    comment = models.TextField(blank=True, default="")
    created_at = created_at_field()

    class Meta:
        db_table = "content_workflow_events"
        ordering = ["-created_at"]
        constraints = [
            choice_constraint("content_workflow_events", "from_state", WorkflowState),
            choice_constraint("content_workflow_events", "to_state", WorkflowState),
        ]
        indexes = [models.Index(fields=["content_type", "object_id", "-created_at"], name="content_workflow_hist_idx")]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


class ContentApprovalPolicy(models.Model):
    """Per content type: whether the two-person rule applies (the approver is not the submitter)."""

    id = uuid_pk()
    content_type = models.OneToOneField(ContentType, on_delete=models.CASCADE, related_name="+")
    two_person_rule = models.BooleanField(
        default=True, db_default=True, help_text="When on, whoever submitted an item cannot approve it."
    )

    class Meta:
        db_table = "content_approval_policies"
        ordering = ["content_type"]
        verbose_name_plural = "content approval policies"

    def __str__(self) -> str:
        return f"{self.content_type}: two-person rule {'on' if self.two_person_rule else 'off'}"
