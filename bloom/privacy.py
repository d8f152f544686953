"""The registry of personal data: every model that holds it, how it is exported and how erased.

Each app registers its models from `<app>/privacy.py`, called in its AppConfig.ready(), so this
lowest layer never imports the apps above it (docs/adr/0320). A model that references a user or
holds an email, a name, a phone number, free text or a file is either registered here or listed
in NOT_PERSONAL with the reason; tests/accounts/test_gdpr_registry.py fails otherwise.

Erasure rules:
- DELETE: her rows go.
- ANONYMISE: her rows stay (they count for something: a seat, a metric) with `scrub` applied and
  every mention of her email or name replaced in their text and JSON columns.
- KEEP_PSEUDONYMISED: as ANONYMISE, for rows a law makes us keep; `reason` names the law.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Cast, Coalesce, Concat

ERASED = "[erased]"
ERASED_ADDRESS = "erased@deleted.invalid"  # where an address column cannot be empty


class Erase(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    KEEP_PSEUDONYMISED = "keep_pseudonymised"


# Rows that only mention her (webhook payloads, logs) are found by searching their text.
MENTIONS = "mentions"
SELF = "self"  # the account row itself


@dataclass(frozen=True)
class PersonalDataEntry:
    """How one model's rows about a member are found, exported and erased.

    `subjects` are ORM paths from the model to her: a path ending at the user (`"user"`,
    `"enrollment__user"`) matches her account, a path ending at a text field (`"email"`) matches
    her address case-insensitively, and MENTIONS matches rows whose text or JSON holds her
    email or name. `files` names FileFields whose files go into her export and are deleted when
    she is erased. `export` (member=, rows=) -> list of dicts replaces the plain dump of her
    rows; `erase_rows` (member=, rows=) replaces the rule's default erasure.
    """

    model: str
    subjects: tuple[str, ...]
    erase: Erase
    reason: str = ""
    scrub: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    export: Callable | None = None
    find: Callable | None = None  # (member=, email=) -> queryset, instead of subjects
    erase_rows: Callable | None = None
    private: tuple[str, ...] = ()  # never exported (password hashes, secrets)
    redact: bool = True  # False: kept rows whose reason needs her identifiers as they are
    order: int = 50  # lower erases first; the account itself is last

    def __post_init__(self):
        if self.erase == Erase.KEEP_PSEUDONYMISED and not self.reason:
            raise ValueError(f"{self.model}: a kept-pseudonymised model needs the legal reason.")

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


_REGISTRY: dict[str, PersonalDataEntry] = {}
_CACHE_KEYS: list[Callable] = []

# Models that look personal to the introspection test but are not a member's data.
NOT_PERSONAL: dict[str, str] = {}


def privacy_register(*entries: PersonalDataEntry) -> None:
    for entry in entries:
        _REGISTRY[entry.model] = entry


def privacy_not_personal(model: str, reason: str) -> None:
    if not reason:
        raise ValueError(f"{model}: say why it holds no member's personal data.")
    NOT_PERSONAL[model] = reason


def privacy_register_cache_keys(build: Callable) -> None:
    """`build(member=)` returns cache keys that hold something of hers; erasure deletes them."""
    if build not in _CACHE_KEYS:
        _CACHE_KEYS.append(build)


def privacy_entry_list() -> list[PersonalDataEntry]:
    return sorted(_REGISTRY.values(), key=lambda entry: (entry.order, entry.model))


def privacy_entry_get(model: str) -> PersonalDataEntry | None:
    return _REGISTRY.get(model)


def privacy_cache_keys(*, member) -> list[str]:
    return [key for build in _CACHE_KEYS for key in build(member=member)]


# --- finding her rows -----------------------------------------------------------------------


def member_identifiers(*, member) -> list[str]:
    """What finds rows that mention her: her email and her full name (a first name alone would
    find strangers). Erasure also replaces each part of her name inside those rows."""
    full = f"{member.first_name} {member.last_name}".strip()
    return [value for value in (member.email, full) if len(value) >= 3]


def _name_parts(member) -> list[str]:
    return [part for part in (member.first_name, member.last_name) if len(part or "") >= 2]


def _searchable_columns(model) -> list[models.Field]:
    """Text and JSON columns whose stored value SQL can read (not encrypted ones)."""
    from bloom.crypto import ENCRYPTED_FIELD_TYPES

    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
        and not isinstance(f, ENCRYPTED_FIELD_TYPES)
    ]


def _mentions_q(model, identifiers: Iterable[str]) -> tuple[dict, Q]:
    # The row's text columns joined into one string (a newline between, so nothing matches
    # across two columns): one ILIKE per identifier per row, a sequential scan (ADR 0320).
    text_field = models.TextField()
    columns = [
        Coalesce(Cast(f.name, text_field), Value(""), output_field=text_field) for f in _searchable_columns(model)
    ]
    if not columns:
        return {}, Q(pk__in=[])
    parts = [
        part for column in columns for part in (column, Value("\n", output_field=text_field))
    ]  # no match across columns
    text = Concat(*parts, output_field=text_field)
    condition = Q(pk__in=[])
    for identifier in identifiers:
        condition |= Q(_privacy_text__icontains=identifier)
    return {"_privacy_text": text}, condition


def _subject_q(model, path: str, member, email: str) -> Q:
    if path == SELF:
        return Q(pk=member.pk)
    target = model
    field_obj = None
    for part in path.split("__"):
        field_obj = target._meta.get_field(part)
        if field_obj.is_relation:
            target = field_obj.related_model
    if field_obj is not None and field_obj.is_relation:
        return Q(**{path: member})
    return Q(**{f"{path}__iexact": email}) if email else Q(pk__in=[])


def privacy_rows(entry: PersonalDataEntry, *, member, email: str | None = None, identifiers=None):
    """Her rows of one registered model. `email`/`identifiers` default to the account's own
    (erasure passes the ones captured before the account was anonymised)."""
    model = entry.model_class
    email = member.email if email is None else email
    if entry.find:
        return entry.find(member=member, email=email)
    identifiers = member_identifiers(member=member) if identifiers is None else identifiers
    queryset = model._base_manager.all()
    condition = Q(pk__in=[])
    for path in entry.subjects:
        if path == MENTIONS:
            annotations, mentions = _mentions_q(model, identifiers)
            if annotations:
                queryset = queryset.annotate(**annotations)
                condition |= mentions
        else:
            condition |= _subject_q(model, path, member, email)
    return queryset.filter(condition).distinct() if len(entry.subjects) > 1 else queryset.filter(condition)


# --- export -----------------------------------------------------------------------------------


def _plain(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def _row_dump(entry: PersonalDataEntry, row) -> dict:
    data = {}
    for column in row._meta.concrete_fields:
        if column.name in entry.private:
            continue
        value = column.value_from_object(row)
        if isinstance(column, models.FileField):
            value = value.name if value else ""
        data[column.attname] = value
    return _plain(data)


def privacy_export(*, member) -> tuple[dict[str, list[dict]], list[tuple[str, Any]]]:
    """Her rows of every registered model as JSON-ready dicts keyed by model label, and her files
    as (archive name, FieldFile) pairs. Models where she has no rows are listed with []."""
    records: dict[str, list[dict]] = {}
    files: list[tuple[str, Any]] = []
    for entry in privacy_entry_list():
        rows = list(privacy_rows(entry, member=member))
        records[entry.model] = (
            _plain(entry.export(member=member, rows=rows)) if entry.export else [_row_dump(entry, row) for row in rows]
        )
        for row in rows:
            for name in entry.files:
                file = getattr(row, name)
                if file:
                    files.append((f"files/{entry.model}/{file.name.rsplit('/', 1)[-1]}", file))
    return records, files


# --- erasure ----------------------------------------------------------------------------------


def redact_value(value, identifiers: Iterable[str], words: Iterable[str] = ()):
    """`value` with every case-insensitive occurrence of her `identifiers` (email, full name)
    replaced, and each of `words` (her first and last name) where it stands as a whole word;
    JSON is walked, keys included."""
    patterns = [re.compile(re.escape(identifier), re.IGNORECASE) for identifier in identifiers]
    patterns += [re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE) for word in words]
    if not patterns:
        return value

    def walk(item):
        if isinstance(item, str):
            for pattern in patterns:
                item = pattern.sub(ERASED, item)
            return item
        if isinstance(item, list):
            return [walk(element) for element in item]
        if isinstance(item, dict):
            return {walk(key): walk(element) for key, element in item.items()}
        return item

    return walk(value)


def _redact_rows(rows, identifiers, words) -> None:
    for row in rows:
        changed = []
        for column in _searchable_columns(type(row)):
            before = getattr(row, column.attname)
            after = redact_value(before, identifiers, words)
            if after != before:
                setattr(row, column.attname, after)
                changed.append(column.attname)
        if changed:
            row.save(update_fields=changed)


def _delete_files(entry: PersonalDataEntry, rows) -> int:
    # Once the erasure commits: a rolled-back erasure keeps her rows, so it must keep their files.
    deleted = 0
    for row in rows:
        for name in entry.files:
            file = getattr(row, name)
            if file:
                transaction.on_commit(functools.partial(file.storage.delete, file.name))
                deleted += 1
    return deleted


def _scrub(entry: PersonalDataEntry, rows) -> None:
    # A callable value is worked out per row (row -> value), e.g. a unique placeholder address.
    if not entry.scrub:
        return
    fixed = {name: value for name, value in entry.scrub.items() if not callable(value)}
    per_row = {name: value for name, value in entry.scrub.items() if callable(value)}
    manager = entry.model_class._base_manager
    if fixed:
        manager.filter(pk__in=[row.pk for row in rows]).update(**fixed)
    for row in rows if per_row else ():
        manager.filter(pk=row.pk).update(**{name: value(row) for name, value in per_row.items()})


def privacy_erase(*, member, identifiers: list[str] | None = None) -> dict[str, int]:
    """Erase her rows of every registered model by its rule, and her cache keys; returns rows
    touched per model. Runs before the account row itself is anonymised (her email still finds
    rows filed by address). Deleting is final; callers confirm with staff first."""
    from django.core.cache import cache

    identifiers = member_identifiers(member=member) if identifiers is None else identifiers
    words = _name_parts(member)
    email = member.email
    keys = privacy_cache_keys(member=member)  # worked out while the account still has her address
    touched: dict[str, int] = {}
    for entry in privacy_entry_list():
        rows = list(privacy_rows(entry, member=member, email=email, identifiers=identifiers))
        if not rows:
            continue
        touched[entry.model] = len(rows)
        _delete_files(entry, rows)
        if entry.erase_rows:
            entry.erase_rows(member=member, rows=rows)
        elif entry.erase == Erase.DELETE:
            entry.model_class._base_manager.filter(pk__in=[row.pk for row in rows]).delete()
            continue
        else:
            _scrub(entry, rows)
        if entry.redact:
            remaining = entry.model_class._base_manager.filter(pk__in=[row.pk for row in rows])
            _redact_rows(remaining, identifiers, words)
    if keys:
        cache.delete_many(keys)
    return touched


# --- Bloom's own tables --------------------------------------------------------------------

# The append-only audit trail (ADR 0310) stores identifiers and free text as keyed digests only,
# and PostgreSQL refuses UPDATE and DELETE on it: her rows are kept as they are.
AUDIT_TRAIL_REASON = "HIPAA 45 CFR 164.316(b)(2): audit records are kept six years; identifiers are digests."


def _audit_rows(*, member, email):
    from bloom.models import AuditEntry

    return AuditEntry.objects.filter(subject_user_id=member.pk)


def _audit_keep(*, member, rows) -> None:
    """Nothing to change: the trail holds digests, and the database refuses changes to it."""


def register() -> None:
    privacy_register(
        PersonalDataEntry(
            "bloom.AuditEntry",
            (),
            Erase.KEEP_PSEUDONYMISED,
            reason=AUDIT_TRAIL_REASON,
            find=_audit_rows,
            erase_rows=_audit_keep,
            redact=False,
        ),
        PersonalDataEntry(
            "bloom.LedgerEvent",
            (MENTIONS,),
            Erase.KEEP_PSEUDONYMISED,
            reason="The state-change ledger payments and bookings are reconciled against; holds ids, not contact details.",
        ),
    )
    privacy_not_personal("contenttypes.ContentType", "Django's table of model names.")
    for model in ("bloom.ContentWorkflowState", "bloom.ContentWorkflowEvent"):
        privacy_not_personal(
            model, "The approval workflow of staff-written content: names staff, and comments are staff's words."
        )
    for model in ("ClockedSchedule", "CrontabSchedule", "IntervalSchedule", "PeriodicTasks", "SolarSchedule"):
        privacy_not_personal(f"django_celery_beat.{model}", "Task schedules.")
