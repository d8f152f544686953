"""Factory for the event ledger (rows are normally written by database triggers only)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import factory

from bloom.ledger import EventKind, LedgerEvent


class LedgerEventFactory(factory.django.DjangoModelFactory):
    """A hand-written event for an untracked table name, so `ledger_verify` never counts it."""

    class Meta:
        model = LedgerEvent

    entity_table = "factory_examples"
    entity_id = factory.LazyFunction(uuid.uuid4)
    subject_id = factory.LazyFunction(uuid.uuid4)
    kind = EventKind.CREATED
    to_state = "succeeded"
    amount = Decimal("10.00")
    currency = "usd"
    source = "factory"
