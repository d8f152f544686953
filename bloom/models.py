"""Abstract base models every app builds on.

Primary keys and timestamps carry both a Python default (so the ORM knows the value
without a round trip) and the database default the seed writes (`gen_random_uuid()`,
`now()`), so rows inserted by SQL, views and migrations get them too.
"""

import uuid

from django.db import models
from django.utils import timezone


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

# The approval workflow's tables, for every kind of content (docs/adr/0390).
from bloom.workflow_models import (  # noqa: E402, F401
    ContentApprovalPolicy,
    ContentWorkflowEvent,
    ContentWorkflowState,
    WorkflowState,
)
