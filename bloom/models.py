"""Abstract base models every app builds on.

Primary keys and timestamps carry both a Python default (so the ORM knows the value
without a round trip) and the database default the seed writes (`gen_random_uuid()`,
`now()`), so rows inserted by SQL, views and migrations get them too.
"""

import uuid

from django.db import models
from django.utils import timezone

from bloom.fields import choice_constraint, choice_field
from bloom.ledger import AppendOnlyModel, ClockTimestamp, TxidCurrent


class GenRandomUUID(models.Func):
    function = "gen_random_uuid"
    template = "%(function)s()"
    output_field = models.UUIDField()


class DbNow(models.Func):
    """`now()` as the seed writes it: the transaction's start time.

    Django's own `Now()` compiles to `STATEMENT_TIMESTAMP()` on PostgreSQL, which would make
    the column default differ from the seed's `DEFAULT now()`.
    """

    template = "now()"
    output_field = models.DateTimeField()


def uuid_pk() -> models.UUIDField:
    return models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=GenRandomUUID(), editable=False)


def created_at_field(**kwargs) -> models.DateTimeField:
    return models.DateTimeField(default=timezone.now, db_default=DbNow(), editable=False, **kwargs)


class UUIDModel(models.Model):
    id = uuid_pk()

    class Meta:
        abstract = True


class TimeStampedModel(UUIDModel):
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=DbNow())

    class Meta:
        abstract = True


class ActiveQuerySet(models.QuerySet):
    def archive(self) -> int:
        return self.filter(archived_at__isnull=True).update(archived_at=timezone.now())

    def restore(self) -> int:
        """Bring archived rows back; returns how many were archived."""
        return self.filter(archived_at__isnull=False).update(archived_at=None)


class ActiveManager(models.Manager.from_queryset(ActiveQuerySet)):
    """Default manager of soft-deletable models: archived rows are hidden."""

    def get_queryset(self):
        return super().get_queryset().filter(archived_at__isnull=True)


class SoftDeleteModel(models.Model):
    """Catalog rows are archived, never deleted, while members hold rows pointing at them.

    `objects` hides archived rows; `all_objects` sees everything (admin, cleanup jobs).
    Related-object access uses the base manager, so an enrollment still reaches its
    archived course.
    """

    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ActiveManager()
    all_objects = models.Manager.from_queryset(ActiveQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def archive(self) -> None:
        if self.archived_at is None:
            self.archived_at = timezone.now()
            self.save(update_fields=["archived_at"])

    def restore(self) -> None:
        if self.archived_at is not None:
            self.archived_at = None
            self.save(update_fields=["archived_at"])


# The event ledger's model lives with its triggers and verifier (docs/adr/0160).
from bloom.ledger import LedgerEvent  # noqa: E402, F401


class AuditOperation(models.TextChoices):
    INSERT = "INSERT", "Added"
    UPDATE = "UPDATE", "Changed"
    DELETE = "DELETE", "Deleted"
    READ = "READ", "Read by staff"


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff"
    MEMBER = "member", "Member"
    VISITOR = "visitor", "Visitor (not signed in)"
    WEBHOOK = "webhook", "Webhook"
    TASK = "task", "Background task"
    COMMAND = "command", "Management command"
    SHELL = "shell", "Shell (manage.py shell, psql)"
    SYSTEM = "system", "System (no context)"


class AuditEntry(AppendOnlyModel):
    """One change to a row of a Bloom table, or one staff read of a sensitive record.

    Written by the database trigger `audit_record()` (bloom/audit.py) for INSERT, UPDATE and
    DELETE, so no code path skips it; READ rows are written by `bloom.audit.audit_read_record`.
    Append-only in PostgreSQL (UPDATE, DELETE and TRUNCATE are refused). Values of free-text
    and identifier columns are stored as keyed digests, so the trail outlives an erasure
    without holding her name or email (docs/adr/0310). No foreign keys: a deleted user's
    trail stays.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=ClockTimestamp(), editable=False)
    table_name = models.TextField()
    row_pk = models.TextField()
    operation = choice_field(AuditOperation, max_length=6)
    actor_user_id = models.UUIDField(null=True, blank=True, help_text="Who did it (a user id, no foreign key).")
    actor_kind = choice_field(ActorKind, max_length=10, default=ActorKind.SYSTEM, db_default=True)
    actor_label = models.TextField(blank=True, default="", db_default="", help_text="Task, command or provider name.")
    source = models.TextField(blank=True, default="", db_default="", help_text="IP address, task id or program.")
    request_id = models.TextField(blank=True, default="", db_default="")
    subject_user_id = models.UUIDField(null=True, blank=True, help_text="Whose data (a user id, no foreign key).")
    changed_columns = models.JSONField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    txid = models.BigIntegerField(null=True, blank=True, db_default=TxidCurrent())

    class Meta:
        app_label = "bloom"
        db_table = "audit_trail"
        ordering = ["-id"]
        verbose_name = "audit trail entry"
        verbose_name_plural = "audit trail"
        permissions = [("export_auditentry", "Can export the audit trail as CSV")]
        indexes = [
            models.Index(fields=["subject_user_id", "occurred_at"], name="audit_trail_subject"),
            models.Index(fields=["table_name", "row_pk"], name="audit_trail_record"),
            models.Index(fields=["actor_user_id", "occurred_at"], name="audit_trail_actor"),
            models.Index(fields=["occurred_at"], name="audit_trail_occurred"),
        ]
        constraints = [
            choice_constraint("audit_trail", "operation", AuditOperation),
            choice_constraint("audit_trail", "actor_kind", ActorKind),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.operation} {self.table_name} {self.row_pk}"


# The approval workflow's tables, for every kind of content (docs/adr/0390).
from bloom.workflow_models import (  # noqa: E402, F401
    ContentApprovalPolicy,
    ContentWorkflowEvent,
    ContentWorkflowState,
    WorkflowState,
)
