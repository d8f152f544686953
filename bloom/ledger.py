"""The event ledger: an append-only row for every change of money or access (docs/adr/0160).

PostgreSQL writes the rows, not Python: each tracked table carries AFTER INSERT / UPDATE /
DELETE triggers (made by `trigger_operations` in a migration of the app that owns the
table), so no write path — services, `QuerySet.update()`, the admin, raw SQL, webhooks —
can skip the ledger. The ledger itself refuses UPDATE, DELETE and TRUNCATE in the database
and in Python. `ledger_drift_list` folds the events of each entity and reports every row
whose stored state disagrees; `manage.py ledger_verify` prints that report.

This module knows table names and SQL only: `bloom` imports no app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, migrations, models, transaction

from bloom.fields import choice_constraint, choice_field, money_field

LEDGER_TABLE = "event_ledger"


class LedgerIsAppendOnly(Exception):
    """A ledger row may be added, never changed or removed."""


class AppendOnlyModel(models.Model):
    """Rows are added, never changed or removed through the ORM (PostgreSQL refuses them too):
    the event ledger's and the audit trail's. `append_only_error` is what a change raises."""

    append_only_error: type[Exception] = ValueError

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise self.append_only_error(f"{self._meta.db_table} rows are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise self.append_only_error(f"{self._meta.db_table} rows are never deleted")


class EventKind(models.TextChoices):
    OPENED = "opened", "Already there when the ledger began"
    CREATED = "created", "Row created"
    CHANGED = "changed", "State or money changed"
    DELETED = "deleted", "Row deleted"


class ClockTimestamp(models.Func):
    """`clock_timestamp()`: the moment of the write, not the start of its transaction."""

    template = "clock_timestamp()"
    output_field = models.DateTimeField()


class TxidCurrent(models.Func):
    template = "txid_current()"
    output_field = models.BigIntegerField()


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerIsAppendOnly("event_ledger rows are never updated")

    def delete(self):
        raise LedgerIsAppendOnly("event_ledger rows are never deleted")


class LedgerEvent(AppendOnlyModel):
    """One change of a payment's state or a member's access, written by a database trigger.

    `subject_id` is the member's UUID without a foreign key, so erasing or deleting a member
    leaves her history in place and the ledger holds no personal data of its own.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=ClockTimestamp(), editable=False)
    entity_table = models.TextField()
    entity_id = models.UUIDField()
    subject_id = models.UUIDField(null=True, blank=True, help_text="The member's UUID (no foreign key).")
    kind = choice_field(EventKind, max_length=10)
    from_state = models.TextField(null=True, blank=True)
    to_state = models.TextField(null=True, blank=True)
    amount = money_field(null=True, blank=True)
    amount_refunded = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, null=True, blank=True)
    actor = models.TextField(
        blank=True, default="", db_default="", help_text="Who caused it: a user UUID or a process name."
    )
    source = models.TextField(blank=True, default="", db_default="", help_text="web, task, admin, migration ...")
    context_id = models.TextField(blank=True, default="", db_default="", help_text="Request or task id.")
    txid = models.BigIntegerField(null=True, blank=True, db_default=TxidCurrent(), editable=False)

    append_only_error = LedgerIsAppendOnly
    objects = LedgerQuerySet.as_manager()

    class Meta:
        app_label = "bloom"
        db_table = LEDGER_TABLE
        ordering = ["id"]
        indexes = [models.Index(fields=["entity_table", "entity_id", "id"], name="event_ledger_entity")]
        constraints = [choice_constraint(LEDGER_TABLE, "kind", EventKind)]

    def __str__(self) -> str:
        return f"#{self.id} {self.entity_table} {self.entity_id} {self.kind} {self.from_state} → {self.to_state}"


@dataclass(frozen=True)
class Tracked:
    """A table the ledger follows. Each value is an SQL expression over `{row}` (NEW, OLD or a
    table alias), so the trigger and `ledger_verify` compute exactly the same thing."""

    table: str
    state: str
    subject: str = "{row}.user_id"
    amount: str = "NULL"
    refunded: str = "NULL"
    currency: str = "NULL"

    def values(self, row: str) -> dict[str, str]:
        return {
            "state": f"({self.state.format(row=row)})::text",
            "subject": f"({self.subject.format(row=row)})::uuid",
            "amount": f"({self.amount.format(row=row)})::numeric(10,2)",
            "refunded": f"({self.refunded.format(row=row)})::numeric(10,2)",
            "currency": f"({self.currency.format(row=row)})::varchar(3)",
        }

    def watched(self, row: str) -> str:
        """The tuple whose change is an event: state and money."""
        v = self.values(row)
        return f"({v['state']}, {v['amount']}, {v['refunded']}, {v['currency']})"


# Every table whose rows are money or access. Changing an entry needs a new migration in the
# owning app that calls `trigger_operations` again (the functions are CREATE OR REPLACE).
TRACKED: dict[str, Tracked] = {
    t.table: t
    for t in [
        Tracked(
            "payment_intents",
            state="{row}.status",
            amount="{row}.amount",
            refunded="{row}.amount_refunded",
            currency="{row}.currency",
        ),
        Tracked(
            "refund_requests",
            state="{row}.status",
            amount="coalesce({row}.amount_approved, {row}.amount_requested)",
            refunded="{row}.amount_refunded",
            currency="{row}.currency",
        ),
        Tracked(
            "course_enrollments",
            # Access needs a paid or free status and no staff revocation: both are the state.
            state="{row}.payment_status || CASE WHEN {row}.access_revoked_at IS NULL THEN '' ELSE '/revoked' END",
            amount="{row}.amount_paid",
            refunded="{row}.amount_refunded",
            currency="{row}.currency",
        ),
        Tracked(
            "workshop_registrations",
            state="{row}.status || '/' || {row}.payment_status",
            amount="{row}.amount",
            currency="{row}.currency",
        ),
        Tracked("appointment_data", state="{row}.status"),
        Tracked("appointment_payments", state="{row}.status", amount="{row}.amount", currency="{row}.currency"),
    ]
}

_CONTEXT = (
    "coalesce(current_setting('bloom.actor', true), ''), "
    "coalesce(current_setting('bloom.source', true), ''), "
    "coalesce(current_setting('bloom.context_id', true), '')"
)
_COLUMNS = (
    "entity_table, entity_id, subject_id, kind, from_state, to_state, amount, amount_refunded, currency, "
    "actor, source, context_id"
)


def _function_name(table: str) -> str:
    return f"ledger_record__{table}"


def trigger_sql(spec: Tracked) -> str:
    """The function and triggers that write `spec.table`'s events, and its "opened" events."""
    new, old, t = spec.values("NEW"), spec.values("OLD"), spec.values("t")
    fn = _function_name(spec.table)
    return f"""
CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $ledger$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {LEDGER_TABLE} ({_COLUMNS}) VALUES (TG_TABLE_NAME, NEW.id, {new["subject"]}, 'created',
            NULL, {new["state"]}, {new["amount"]}, {new["refunded"]}, {new["currency"]}, {_CONTEXT});
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO {LEDGER_TABLE} ({_COLUMNS}) VALUES (TG_TABLE_NAME, NEW.id, {new["subject"]}, 'changed',
            {old["state"]}, {new["state"]}, {new["amount"]}, {new["refunded"]}, {new["currency"]}, {_CONTEXT});
    ELSE
        INSERT INTO {LEDGER_TABLE} ({_COLUMNS}) VALUES (TG_TABLE_NAME, OLD.id, {old["subject"]}, 'deleted',
            {old["state"]}, NULL, {old["amount"]}, {old["refunded"]}, {old["currency"]}, {_CONTEXT});
    END IF;
    RETURN NULL;
END
$ledger$;
DROP TRIGGER IF EXISTS ledger_record_insert ON {spec.table};
DROP TRIGGER IF EXISTS ledger_record_update ON {spec.table};
DROP TRIGGER IF EXISTS ledger_record_delete ON {spec.table};
CREATE TRIGGER ledger_record_insert AFTER INSERT ON {spec.table}
    FOR EACH ROW EXECUTE FUNCTION {fn}();
CREATE TRIGGER ledger_record_update AFTER UPDATE ON {spec.table}
    FOR EACH ROW WHEN ({spec.watched("OLD")} IS DISTINCT FROM {spec.watched("NEW")}) EXECUTE FUNCTION {fn}();
CREATE TRIGGER ledger_record_delete AFTER DELETE ON {spec.table}
    FOR EACH ROW EXECUTE FUNCTION {fn}();
INSERT INTO {LEDGER_TABLE} ({_COLUMNS})
    SELECT '{spec.table}', t.id, {t["subject"]}, 'opened', NULL, {t["state"]}, {t["amount"]}, {t["refunded"]},
        {t["currency"]}, '', 'migration', ''
    FROM {spec.table} t ORDER BY t.created_at, t.id;
"""  # noqa: S608 - table names and expressions are constants


def trigger_operations(table: str) -> list[migrations.RunSQL]:
    """Migration operations that make the ledger follow `table` (one of TRACKED).

    Forward: (re)creates the trigger function and the three triggers, and writes one "opened"
    event per existing row, so verify starts at zero drift. Backward: drops the triggers and
    function; the events already written stay, as the ledger never forgets.
    """
    spec = TRACKED[table]
    reverse = (
        f"DROP TRIGGER IF EXISTS ledger_record_insert ON {table}; "
        f"DROP TRIGGER IF EXISTS ledger_record_update ON {table}; "
        f"DROP TRIGGER IF EXISTS ledger_record_delete ON {table}; "
        f"DROP FUNCTION IF EXISTS {_function_name(table)}();"
    )
    return [migrations.RunSQL(trigger_sql(spec), reverse_sql=reverse)]


def append_only_guard_sql(table: str, *, witness_trigger: str) -> tuple[str, str]:
    """The SQL (forward, reverse) that makes `table` append-only in PostgreSQL.

    UPDATE and DELETE are refused per statement, so even one touching no row fails. TRUNCATE is
    refused unless every table carrying `witness_trigger` is empty after the same statement:
    that is emptying the whole database (Django's test flush does it between transactional
    tests), not rewriting history. Shared by the ledger and the audit trail (bloom/audit.py).
    """
    forward = f"""
CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP USING ERRCODE = 'P0001';
END
$guard$;
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change();
CREATE FUNCTION {table}_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $guard$
DECLARE
    tracked regclass;
    has_rows boolean;
BEGIN
    FOR tracked IN SELECT DISTINCT tgrelid::regclass FROM pg_trigger WHERE tgname = '{witness_trigger}' LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', tracked) INTO has_rows;
        IF has_rows THEN
            RAISE EXCEPTION '{table} is append-only: TRUNCATE refused while % has rows', tracked
                USING ERRCODE = 'P0001';
        END IF;
    END LOOP;
    RETURN NULL;
END
$guard$;
CREATE TRIGGER {table}_no_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_truncate();
"""  # noqa: S608 - table and trigger names are constants
    reverse = f"""
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP FUNCTION IF EXISTS {table}_refuse_truncate();
DROP FUNCTION IF EXISTS {table}_refuse_change();
"""
    return forward, reverse


# The ledger's own guard (bloom/migrations/0001_event_ledger.py).
GUARD_SQL, GUARD_REVERSE_SQL = append_only_guard_sql(LEDGER_TABLE, witness_trigger="ledger_record_insert")


_CONTEXT_KEYS = ("bloom.actor", "bloom.source", "bloom.context_id")


def _context_set(values) -> list[str]:
    """Set the ledger context for the rest of the transaction; returns the values it replaced."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), ''), "
            "coalesce(current_setting(%s, true), ''), set_config(%s, %s, true), set_config(%s, %s, true), "
            "set_config(%s, %s, true)",
            [*_CONTEXT_KEYS, *(item for pair in zip(_CONTEXT_KEYS, values, strict=True) for item in pair)],
        )
        return list(cursor.fetchone()[:3])


@contextmanager
def ledger_context(*, actor: str = "", source: str = "", context_id: str = "") -> Iterator[None]:
    """Run the block in a transaction whose ledger events name who, what and which request/task.

    The values are transaction-local (`set_config(..., true)`) and put back as they were when
    the block ends, so an outer transaction's later writes are not credited to this block.
    No personal data: pass a user's UUID, never a name or email.
    """
    with transaction.atomic():
        previous = _context_set([actor, source, context_id])
        try:
            yield
        finally:
            if not connection.needs_rollback:
                _context_set(previous)


@dataclass(frozen=True)
class Drift:
    """One disagreement between a tracked table and its ledger."""

    table: str
    entity_id: str | None
    problem: str
    stored: str = ""
    ledger: str = ""

    def __str__(self) -> str:
        detail = f" (stored {self.stored!r}, ledger {self.ledger!r})" if self.stored or self.ledger else ""
        return f"{self.table} {self.entity_id or '-'}: {self.problem}{detail}"


def _table_exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def _has_triggers(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgenabled <> 'D' "
            "AND tgname IN ('ledger_record_insert', 'ledger_record_update', 'ledger_record_delete')",
            [table],
        )
        return cursor.fetchone()[0] == 3


def _row_text(state, amount, refunded, currency) -> str:
    money = " ".join(str(v) for v in (amount, refunded, currency) if v is not None)
    return f"{state} {money}".strip() if state is not None else ""


def _chunk_drift(spec: Tracked, *, after, chunk_size: int) -> tuple[list[Drift], object, int]:
    t = spec.values("t")
    sql = f"""
        WITH live AS (
            SELECT t.id AS entity_id, {t["state"]} AS state, {t["amount"]} AS amount,
                   {t["refunded"]} AS refunded, {t["currency"]} AS currency
            FROM {spec.table} t WHERE (%s::uuid IS NULL OR t.id > %s::uuid) ORDER BY t.id LIMIT %s
        ), folded AS (
            SELECT DISTINCT ON (e.entity_id) e.entity_id, e.kind, e.to_state, e.amount, e.amount_refunded, e.currency
            FROM {LEDGER_TABLE} e
            WHERE e.entity_table = %s AND e.entity_id IN (SELECT entity_id FROM live)
            ORDER BY e.entity_id, e.id DESC
        )
        SELECT live.entity_id, live.state, live.amount, live.refunded, live.currency,
               folded.entity_id IS NOT NULL, folded.kind, folded.to_state, folded.amount,
               folded.amount_refunded, folded.currency,
               (live.state, live.amount, live.refunded, live.currency)
                   IS DISTINCT FROM (folded.to_state, folded.amount, folded.amount_refunded, folded.currency)
        FROM live LEFT JOIN folded USING (entity_id) ORDER BY live.entity_id
    """  # noqa: S608 - table names and expressions are constants
    with connection.cursor() as cursor:
        cursor.execute(sql, [after, after, chunk_size, spec.table])
        rows = cursor.fetchall()
    found = []
    for entity_id, state, amount, refunded, currency, has_events, kind, *ledger, differs in rows:
        stored = _row_text(state, amount, refunded, currency)
        if not has_events:
            found.append(Drift(spec.table, str(entity_id), "no events", stored=stored))
        elif kind == EventKind.DELETED:
            found.append(Drift(spec.table, str(entity_id), "row exists but the ledger says deleted", stored=stored))
        elif differs:
            found.append(Drift(spec.table, str(entity_id), "stored state differs", stored, _row_text(*ledger)))
    last = rows[-1][0] if rows else None
    return found, last, len(rows)


def _missing_rows(spec: Tracked) -> list[Drift]:
    """Entities the ledger says exist whose row is gone (deleted with the triggers off)."""
    sql = f"""
        SELECT f.entity_id, f.to_state FROM (
            SELECT DISTINCT ON (e.entity_id) e.entity_id, e.kind, e.to_state
            FROM {LEDGER_TABLE} e WHERE e.entity_table = %s ORDER BY e.entity_id, e.id DESC
        ) f
        WHERE f.kind <> 'deleted' AND NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE t.id = f.entity_id)
        ORDER BY f.entity_id
    """  # noqa: S608 - table names and expressions are constants
    with connection.cursor() as cursor:
        cursor.execute(sql, [spec.table])
        return [Drift(spec.table, str(eid), "row missing", ledger=state) for eid, state in cursor.fetchall()]


def _gaps(spec: Tracked) -> list[Drift]:
    """Events that do not start where the entity's previous event ended: a change went unrecorded."""
    sql = f"""
        SELECT entity_id, id, previous_to, from_state FROM (
            SELECT e.entity_id, e.id, e.kind, e.from_state,
                   lag(e.to_state) OVER w AS previous_to, lag(e.id) OVER w AS previous_id
            FROM {LEDGER_TABLE} e WHERE e.entity_table = %s
            WINDOW w AS (PARTITION BY e.entity_id ORDER BY e.id)
        ) chain
        WHERE previous_id IS NOT NULL AND kind IN ('changed', 'deleted') AND from_state IS DISTINCT FROM previous_to
        ORDER BY entity_id, id
    """  # noqa: S608 - table names and expressions are constants
    with connection.cursor() as cursor:
        cursor.execute(sql, [spec.table])
        return [
            Drift(spec.table, str(eid), f"gap before event #{event_id}", stored=from_state or "", ledger=before or "")
            for eid, event_id, before, from_state in cursor.fetchall()
        ]


def ledger_drift_list(
    *, chunk_size: int = 5000, progress: Callable[[str, int, int], None] | None = None
) -> list[Drift]:
    """Fold each tracked entity's events and list every disagreement with its stored row.

    Reports: rows with no events, rows whose state or money differ from their last event,
    rows the ledger says were deleted, ledger entities whose row is gone, breaks in an
    entity's chain of states, and tracked tables whose triggers are missing or disabled.
    Read-only; `progress(table, done, total)` is called after each chunk.
    """
    found: list[Drift] = []
    for spec in TRACKED.values():
        if not _table_exists(spec.table):
            continue
        if not _has_triggers(spec.table):
            found.append(Drift(spec.table, None, "ledger triggers missing or disabled"))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {spec.table}")  # noqa: S608 - table names are constants
            total = cursor.fetchone()[0]
        after, done = None, 0
        while True:
            chunk, after, count = _chunk_drift(spec, after=after, chunk_size=chunk_size)
            found.extend(chunk)
            done += count
            if progress:
                progress(spec.table, done, total)
            if count < chunk_size:
                break
        found.extend(_missing_rows(spec))
        found.extend(_gaps(spec))
    return found
