"""Factory for the audit trail (rows are normally written by its database trigger and by
bloom.audit.audit_read_record)."""

from __future__ import annotations

import uuid

import factory

from bloom.models import ActorKind, AuditEntry, AuditOperation


class AuditEntryFactory(factory.django.DjangoModelFactory):
    """A hand-written READ row for a table no trigger writes, so it never reads as a real change."""

    class Meta:
        model = AuditEntry

    table_name = "factory_examples"
    row_pk = factory.LazyFunction(lambda: str(uuid.uuid4()))
    operation = AuditOperation.READ
    actor_kind = ActorKind.STAFF
    actor_user_id = factory.LazyFunction(uuid.uuid4)
    subject_user_id = factory.LazyFunction(uuid.uuid4)
