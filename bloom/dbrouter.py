"""Reports read from the replica when there is one (docs/adr/0154).

`DATABASE_REPLICA_URL` (optional) adds the `replica` database alias (bloom/settings/base.py),
a read-only connection to a streaming replica of `default`. This router sends to it the reads
of every model class that says `replica_reads = True` (the report views, the warehouse tables);
every write, every migration and every other read stays on `default`. Without a replica all of
it is on `default`, so nothing changes on a single-database deployment or in the test suite.

Raw-SQL report code asks `reporting_alias()` which connection to use:

    with connections[reporting_alias()].cursor() as cursor: ...

A replica lags its primary by a moment, so only what may be a few seconds old reads from it:
never a row a request has just written and reads back.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_DB_ALIAS = "replica"


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections.settings


def reporting_alias() -> str:
    """The database alias report reads use: the replica when configured, else `default`."""
    return REPLICA_DB_ALIAS if replica_configured() else DEFAULT_DB_ALIAS


def reads_from_replica(model) -> bool:
    return bool(getattr(model, "replica_reads", False))


class ReplicaRouter:
    """Reads of `replica_reads` models go to the replica (when configured); everything else,
    and every write and migration, to `default`."""

    def db_for_read(self, model, **hints) -> str:
        return reporting_alias() if reads_from_replica(model) else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The replica is a copy of default: a row read from either may point at the other.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS, None}

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        # The replica replays default's WAL, schema changes included.
        return db == DEFAULT_DB_ALIAS
