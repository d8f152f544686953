"""The audit trail: every change to a Bloom row and every staff read of a sensitive one (docs/adr/0310).

PostgreSQL writes the change rows, not Python. One generic PL/pgSQL function,
`audit_record()`, is attached as AFTER INSERT / UPDATE / DELETE statement triggers (with
transition tables, so bulk statements are recorded set-based) to every table
of the audited apps (`audit_triggers_install`, run after every `migrate`, so a table any later
migration adds gets it too). Services, `QuerySet.update()`, the admin, webhooks, tasks,
commands, `manage.py shell` and `psql` all pass through it. The trail itself (`audit_trail`,
`bloom.models.AuditEntry`) refuses UPDATE, DELETE and TRUNCATE in the database.

Who and from where: the trigger reads the session setting `bloom.audit` (JSON). Python keeps
the wanted value in a context variable (`audit_context`: the middleware per request, Celery
per task) and an execute wrapper on every connection writes it to the session just before
the first write statement that needs it, so read-only requests cost nothing. A connection
fresh from the pool is treated as unknown and is always set before its first write, and the
value is reset when the request or task ends: a pooled connection never credits one
request's writes to the previous user. With no setting, the trigger names the program from
`application_name` (`manage.py` sets `bloom:shell` or `bloom:command:<name>`; psql is `psql`).

Privacy: values of free-text and identifier columns (text without choices, JSON, email, IP)
are stored as `sha256:<24 hex>` keyed digests; numbers, dates, booleans, ids and choice values
stay plain. After an erasure the trail holds no name, email or phone of hers in plain text.
"""

from __future__ import annotations

import contextvars
import csv
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import connections, models
from django.db.backends.signals import connection_created

from bloom.ledger import append_only_guard_sql

AUDIT_TABLE = "audit_trail"
# One statement-level trigger per operation (transition tables allow one event per trigger).
TRIGGERS = {
    "INSERT": ("audit_trail_insert", "REFERENCING NEW TABLE AS audit_new"),
    "UPDATE": ("audit_trail_update", "REFERENCING OLD TABLE AS audit_old NEW TABLE AS audit_new"),
    "DELETE": ("audit_trail_delete", "REFERENCING OLD TABLE AS audit_old"),
}
TRIGGER_NAMES = tuple(name for name, _ in TRIGGERS.values())
SETTING = "bloom.audit"

# Apps whose every table is audited: Bloom's own, and allauth's (email addresses, MFA keys).
AUDITED_APPS = (
    "bloom",
    "notifications",
    "accounts",
    "content",
    "billing",
    "courses",
    "workshops",
    "appointments",
    "account",
    "mfa",
)

# Tables of those apps deliberately without the trigger, each with its reason (ADR 0310).
EXCLUDED_TABLES: dict[str, str] = {
    AUDIT_TABLE: "the trail itself (a trigger on it would write about its own rows forever)",
    "event_ledger": "append-only witness of money and access changes; each row is already an audit record",
}

# An UPDATE that changes only these columns is bookkeeping, not a change anyone audits.
BOOKKEEPING_COLUMNS = ("updated_at", "last_seen_at")

_TEXT_TYPES = ("varchar", "text", "char", "json", "inet", "cidr", "citext", "bytea")


def digest_key() -> str:
    """The key of the value digests: BLOOM_AUDIT_DIGEST_KEY, or one derived from SECRET_KEY."""
    key = getattr(settings, "BLOOM_AUDIT_DIGEST_KEY", "") or ""
    if key:
        return hashlib.sha256(key.encode()).hexdigest()
    return hmac.new(settings.SECRET_KEY.encode(), b"bloom.audit.digest", hashlib.sha256).hexdigest()


def audit_digest(value: str) -> str:
    """The digest the trigger stores for `value` (same function as SQL's `audit_digest`)."""
    return "sha256:" + hashlib.sha256((digest_key() + value).encode()).hexdigest()[:24]


def digest_function_sql() -> str:
    """`audit_digest(text)` with the key inside; CREATE OR REPLACE, so a new key takes effect."""
    key = digest_key()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    return f"""
CREATE OR REPLACE FUNCTION audit_digest(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $digest$
    SELECT 'sha256:' || left(encode(sha256(convert_to('{key}' || value, 'UTF8')), 'hex'), 24)
$digest$;
"""


BOOKKEEPING_SQL = "ARRAY[" + ", ".join(f"'{c}'" for c in BOOKKEEPING_COLUMNS) + "]::text[]"

# The columns every trail row gets from the statement's context.
_INSERT_COLUMNS = (
    "table_name, row_pk, operation, actor_user_id, actor_kind, actor_label, source, request_id, "
    "subject_user_id, changed_columns, before, after"
)
_CONTEXT_VALUES = (
    "(ctx ->> 'u')::uuid, coalesce(ctx ->> 'k', 'system'), coalesce(ctx ->> 'l', ''), "
    "coalesce(ctx ->> 's', ''), coalesce(ctx ->> 'r', '')"
)

# Statement-level triggers with transition tables: one function call per statement, and the
# trail rows written set-based, so a bulk INSERT or UPDATE costs one INSERT ... SELECT.
# `OFFSET 0` keeps each row's to_jsonb() computed once (an inlined subquery would rebuild it
# for every reference: 25x slower on a 20,000-row UPDATE).
# TG_ARGV: [0] the primary key column, [1] the subject column ('' when none), [2..] the
# columns whose values are kept plain; every other column's value is digested, so a column
# added later without a trigger refresh is private by default.
FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION audit_value(k text, v jsonb, plain text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $value$
    SELECT CASE WHEN v IS NULL OR k = ANY(plain) OR jsonb_typeof(v) = 'null' OR v = '""'::jsonb THEN v
                ELSE to_jsonb(audit_digest(v #>> '{{}}')) END
$value$;

CREATE OR REPLACE FUNCTION audit_mask(row_data jsonb, keep text[], plain text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $mask$
    -- The row (or only its `keep` columns), then every non-plain, non-empty value digested over it.
    SELECT CASE WHEN keep IS NULL THEN row_data
                ELSE (SELECT coalesce(jsonb_object_agg(k, row_data -> k), '{{}}'::jsonb)
                      FROM unnest(keep) k WHERE row_data ? k) END
        || coalesce((SELECT jsonb_object_agg(e.key, audit_digest(e.value)) FROM jsonb_each_text(row_data) e
                     WHERE e.value <> '' AND NOT e.key = ANY(plain) AND (keep IS NULL OR e.key = ANY(keep))),
                    '{{}}'::jsonb)
$mask$;

CREATE OR REPLACE FUNCTION audit_actor() RETURNS jsonb LANGUAGE plpgsql STABLE AS $actor$
DECLARE
    ctx jsonb := nullif(current_setting('{SETTING}', true), '')::jsonb;
    app text := coalesce(current_setting('application_name', true), '');
BEGIN
    IF ctx IS NULL THEN
        ctx := jsonb_build_object(
            'k', CASE WHEN app IN ('bloom:shell', 'psql') THEN 'shell'
                      WHEN app LIKE 'bloom:command:%' THEN 'command' ELSE 'system' END,
            'l', CASE WHEN app LIKE 'bloom:command:%' THEN substr(app, 15) ELSE session_user::text END,
            's', coalesce(nullif(app, ''), host(inet_client_addr()), 'local'));
    END IF;
    RETURN ctx;
END
$actor$;

CREATE OR REPLACE FUNCTION audit_record() RETURNS trigger LANGUAGE plpgsql AS $audit$
DECLARE
    pk text := TG_ARGV[0];
    subject text := nullif(TG_ARGV[1], '');
    plain text[] := TG_ARGV[2:];
    ctx jsonb := audit_actor();
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {AUDIT_TABLE} ({_INSERT_COLUMNS})
        SELECT TG_TABLE_NAME, r.j ->> pk, 'INSERT', {_CONTEXT_VALUES}, (r.j ->> subject)::uuid,
               NULL, NULL, audit_mask(r.j, NULL, plain)
        FROM (SELECT to_jsonb(t) AS j FROM audit_new t OFFSET 0) r;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {AUDIT_TABLE} ({_INSERT_COLUMNS})
        SELECT TG_TABLE_NAME, r.j ->> pk, 'DELETE', {_CONTEXT_VALUES}, (r.j ->> subject)::uuid,
               NULL, audit_mask(r.j, NULL, plain), NULL
        FROM (SELECT to_jsonb(t) AS j FROM audit_old t OFFSET 0) r;
    ELSE
        -- Old and new images paired by primary key (hash-joined on the key column itself); a
        -- row whose key changed pairs with nothing and is recorded with every column changed.
        EXECUTE format($update$
            INSERT INTO {AUDIT_TABLE} ({_INSERT_COLUMNS})
            SELECT $1, n.j ->> $2, 'UPDATE', {_CONTEXT_VALUES.replace("ctx", "$3")}, (n.j ->> $4)::uuid,
                   to_jsonb(d.changed), CASE WHEN o.j IS NOT NULL THEN d.before END, d.after
            FROM (SELECT t.%1$I AS k, to_jsonb(t) AS j FROM audit_new t OFFSET 0) n
            LEFT JOIN (SELECT t.%1$I AS k, to_jsonb(t) AS j FROM audit_old t OFFSET 0) o ON o.k = n.k
            CROSS JOIN LATERAL (
                SELECT array_agg(e.key ORDER BY e.key) AS changed,
                       jsonb_object_agg(e.key, audit_value(e.key, o.j -> e.key, $5)) AS before,
                       jsonb_object_agg(e.key, audit_value(e.key, e.value, $5)) AS after
                FROM jsonb_each(n.j) e
                WHERE o.j IS NULL OR e.value IS DISTINCT FROM o.j -> e.key
            ) d
            WHERE d.changed IS NOT NULL AND NOT d.changed <@ {BOOKKEEPING_SQL}
        $update$, pk) USING TG_TABLE_NAME, pk, ctx, subject, plain;
    END IF;
    RETURN NULL;
END
$audit$;
"""  # noqa: S608 - table and setting names are constants

FUNCTION_REVERSE_SQL = """
DROP FUNCTION IF EXISTS audit_record();
DROP FUNCTION IF EXISTS audit_actor();
DROP FUNCTION IF EXISTS audit_mask(jsonb, text[], text[]);
DROP FUNCTION IF EXISTS audit_value(text, jsonb, text[]);
DROP FUNCTION IF EXISTS audit_digest(text);
"""

# Append-only: UPDATE / DELETE refused, TRUNCATE only as part of emptying the whole database.
GUARD_SQL, GUARD_REVERSE_SQL = append_only_guard_sql(AUDIT_TABLE, witness_trigger="audit_trail_insert")


# --- Which tables, and which of their columns stay plain ------------------------------------------


@dataclass(frozen=True)
class AuditedTable:
    table: str
    pk: str
    subject: str
    plain: tuple[str, ...]

    def trigger_args(self) -> list[str]:
        return [self.pk, self.subject, *self.plain]


def _is_plain(field: models.Field, connection) -> bool:
    """Kept in clear: numbers, dates, booleans, ids and keys, and text limited to `choices`."""
    if field.choices:
        return True
    db_type = (field.db_type(connection) or "").lower()
    return not db_type.startswith(_TEXT_TYPES)


def _subject_column(model: type[models.Model]) -> str:
    """The column naming whose data the row is: the user's id, or her user_id / member_id."""
    if model is apps.get_model(settings.AUTH_USER_MODEL):
        return model._meta.pk.column
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for field in model._meta.concrete_fields:
        if field.name in ("user", "member") and getattr(field, "related_model", None) is user_model:
            return field.column
    return ""


def audited_tables(connection=None) -> list[AuditedTable]:
    """Every table of AUDITED_APPS (with their many-to-many tables) that is not excluded."""
    connection = connection or connections["default"]
    found: dict[str, AuditedTable] = {}
    for config in apps.get_app_configs():
        if config.label not in AUDITED_APPS:
            continue
        for model in config.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.db_table in EXCLUDED_TABLES:
                continue
            plain = tuple(f.column for f in meta.concrete_fields if _is_plain(f, connection))
            found[meta.db_table] = AuditedTable(meta.db_table, meta.pk.column, _subject_column(model), plain)
    return sorted(found.values(), key=lambda t: t.table)


def _installed_args(cursor) -> dict[str, dict[str, list[str]]]:
    cursor.execute(
        "SELECT c.relname, t.tgname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = ANY(%s) AND NOT t.tgisinternal",
        [list(TRIGGER_NAMES)],
    )
    found: dict[str, dict[str, list[str]]] = {}
    for table, name, args in cursor.fetchall():
        found.setdefault(table, {})[name] = bytes(args).decode().split("\x00")[:-1]
    return found


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _trigger_sql(spec: AuditedTable) -> str:
    args = ", ".join(_quote(a) for a in spec.trigger_args())
    statements = []
    for operation, (name, referencing) in TRIGGERS.items():
        statements.append(
            f'DROP TRIGGER IF EXISTS {name} ON "{spec.table}"; '
            f'CREATE TRIGGER {name} AFTER {operation} ON "{spec.table}" {referencing} '
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_record({args});"
        )
    return " ".join(statements)


def audit_triggers_install(*, using: str = "default") -> int:
    """Attach `audit_record()` to every audited table that lacks it or has stale arguments.

    Idempotent: a table whose triggers already carry the right columns is left alone (no
    lock taken). Also refreshes `audit_digest` (its key comes from settings). Returns how many
    tables got new triggers.
    """
    connection = connections[using]
    tables = audited_tables(connection)
    with connection.cursor() as cursor:
        cursor.execute(digest_function_sql())
        cursor.execute("SELECT to_regclass('public.audit_trail') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0
        existing = _installed_args(cursor)
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        present = {row[0] for row in cursor.fetchall()}
        installed = 0
        for spec in tables:
            wanted = {name: spec.trigger_args() for name in TRIGGER_NAMES}
            if spec.table not in present or existing.get(spec.table) == wanted:
                continue
            cursor.execute(_trigger_sql(spec))
            installed += 1
    return installed


def audit_triggers_missing(*, using: str = "default") -> list[str]:
    """Audited tables with a trigger missing or disabled (a test keeps this empty)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = ANY(%s) AND t.tgenabled <> 'D' GROUP BY c.relname HAVING count(*) = %s",
            [list(TRIGGER_NAMES), len(TRIGGER_NAMES)],
        )
        enabled = {row[0] for row in cursor.fetchall()}
    return [spec.table for spec in audited_tables(connection) if spec.table not in enabled]


def install_after_migrate(sender=None, using="default", verbosity=1, stdout=None, **_kwargs) -> None:
    """post_migrate receiver: every audited table, including ones added since, has the trigger."""
    count = audit_triggers_install(using=using)
    if count and verbosity >= 2 and stdout is not None:
        stdout.write(f"  Audit trail trigger attached to {count} tables.\n")


# --- Who is acting: the context the trigger reads ----------------------------------------------------

ContextValue = dict | Callable[[], dict]
_context: contextvars.ContextVar[ContextValue | None] = contextvars.ContextVar("bloom_audit_context", default=None)
_UNKNOWN = object()  # a connection whose session setting nobody here has written
_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|WITH|MERGE|COPY)\b", re.IGNORECASE)


def _encoded(value: ContextValue | None) -> str:
    if value is None:
        return ""
    data = value() if callable(value) else value
    return json.dumps({k: v for k, v in data.items() if v not in (None, "")}, sort_keys=True) if data else ""


class _Applied:
    """An on_commit marker: the session setting written inside a transaction (undone on rollback)."""

    def __init__(self, connection, value: str):
        self.connection, self.value = connection, value

    def __call__(self) -> None:
        self.connection._bloom_audit_applied = self.value


def _effective(connection) -> object:
    if connection.in_atomic_block:
        for _sids, func, _robust in reversed(connection.run_on_commit):
            if isinstance(func, _Applied):
                return func.value
    return getattr(connection, "_bloom_audit_applied", _UNKNOWN)


def _apply(connection, raw_cursor, value: str) -> None:
    # The raw cursor: this bookkeeping statement is not one of the page's queries.
    raw_cursor.execute("SELECT set_config(%s, %s, false)", [SETTING, value])
    if connection.in_atomic_block:
        connection.on_commit(_Applied(connection, value))
    else:
        connection._bloom_audit_applied = value


def _execute_wrapper(execute, sql, params, many, context):
    if isinstance(sql, str) and _WRITE.match(sql):
        connection = context["connection"]
        wanted = _encoded(_context.get())
        if _effective(connection) != wanted:
            _apply(connection, context["cursor"].cursor, wanted)
    return execute(sql, params, many, context)


def _on_connection_created(sender, connection, **_kwargs) -> None:
    # A connection from the pool may carry an earlier borrower's setting: set before first write.
    connection._bloom_audit_applied = _UNKNOWN
    if _execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _execute_wrapper)


def connect_signals() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="bloom-audit-connection")
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _on_connection_created(None, connection)


def _reset_sessions() -> None:
    """Clear the setting on every connection this thread wrote it on (end of a request or task)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or connection.needs_rollback:
            continue
        current = _effective(connection)
        if current in ("", _UNKNOWN):
            continue
        with connection.cursor() as cursor:
            _apply(connection, cursor.cursor, "")


@contextmanager
def audit_context(value: ContextValue) -> Iterator[None]:
    """Credit the block's writes to `value` ({"u": user id, "k": kind, "l": label, "s": source,
    "r": request id}, or a callable returning it, read at each write). On exit the previous
    context is back and the session setting is cleared, so nothing leaks to the next borrower."""
    token = _context.set(value)
    try:
        yield
    finally:
        _context.reset(token)
        if _context.get() is None:
            _reset_sessions()


def current_actor() -> dict:
    """The context in force, as the trail would record it ({} when none)."""
    value = _context.get()
    return (value() if callable(value) else value) or {}


def task_context(task_name: str, task_id: str | None) -> dict:
    return {"k": "task", "l": task_name, "s": task_id or "", "r": task_id or ""}


# --- Requests ----------------------------------------------------------------------------------------


def request_actor(request) -> dict:
    """Who sent `request`: staff (IP in clear), a member or a visitor (IP digested), or a webhook."""
    from bloom.http import client_ip

    ip = client_ip(request) or ""
    request_id = getattr(request, "request_id", "") or ""
    webhook = getattr(request, "audit_webhook", "")
    if webhook:
        return {"k": "webhook", "l": webhook, "s": ip, "r": request_id}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        kind = "staff" if user.is_staff else "member"
        source = ip if user.is_staff else (audit_digest(ip) if ip else "")
        return {"u": str(user.pk), "k": kind, "s": source, "r": request_id}
    return {"k": "visitor", "s": audit_digest(ip) if ip else "", "r": request_id}


class AuditContextMiddleware:
    """Credits every write of the request to its sender (read at the write: a login in the
    middle of the request is seen), and clears the database session's setting at the end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(lambda: request_actor(request)):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "is_webhook_endpoint", False):
            request.audit_webhook = getattr(view_func, "__name__", "webhook")


# --- Reads -------------------------------------------------------------------------------------------


def _subject_of(obj: models.Model) -> str | None:
    column = _subject_column(type(obj))
    if not column:
        return None
    value = getattr(obj, column if column != obj._meta.pk.column else "pk", None)
    return str(value) if value is not None else None


def audit_read_record(*, obj: models.Model, request=None, user=None, what: str = "") -> None:
    """Write one READ row: staff opened (or downloaded, `what`) a sensitive record. Never skipped.

    The reader is the request's sender; without a request, `user` (or the context in force)."""
    from bloom.models import AuditEntry, AuditOperation

    if request is not None:
        actor = request_actor(request)
    elif user is not None:
        actor = {"u": str(user.pk), "k": "staff" if user.is_staff else "member"}
    else:
        actor = current_actor()
    AuditEntry.objects.create(
        table_name=obj._meta.db_table,
        row_pk=str(obj.pk),
        operation=AuditOperation.READ,
        actor_user_id=actor.get("u"),
        actor_kind=actor.get("k", "system"),
        actor_label=actor.get("l", "") or what,
        source=actor.get("s", ""),
        request_id=actor.get("r", ""),
        subject_user_id=_subject_of(obj),
        after={"read": what} if what else None,
    )


# --- Export ------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "operation",
    "table_name",
    "row_pk",
    "subject_user_id",
    "actor_kind",
    "actor_user_id",
    "actor_label",
    "source",
    "request_id",
    "changed_columns",
    "before",
    "after",
)


def audit_csv_write(*, entries: Iterable, out) -> int:
    """Write `entries` (AuditEntry rows) to `out` as CSV with CSV_COLUMNS; returns the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for entry in entries:
        row = []
        for column in CSV_COLUMNS:
            value = getattr(entry, column)
            if column == "occurred_at":
                value = value.isoformat()
            elif isinstance(value, (dict, list)):
                value = json.dumps(value, sort_keys=True)
            row.append("" if value is None else value)
        writer.writerow(row)
        count += 1
    return count
