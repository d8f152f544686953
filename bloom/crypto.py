"""Encryption at rest for health information (docs/adr/0004, docs/adr/0330).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.
`BLOOM_FIELD_ENCRYPTION_KEYS` lists keys newest first: the first encrypts, all decrypt,
so a key is rotated by prepending a new one and running `manage.py rotate_encryption_keys`
(`encryption_keys_rotate()` below: every app's encrypted columns and encrypted files, found
from the models).

Typed fields (`EncryptedDateField`, `EncryptedIntegerField`, `EncryptedDecimalField`,
`EncryptedJSONField`) keep their ciphertext in a text column and give Python the typed value.
Encrypted columns cannot be filtered, ordered or aggregated in SQL: the typed fields allow
only `isnull` lookups, so a query that would silently match nothing fails loudly instead.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.apps import apps
from django.conf import settings
from django.core import validators
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import connection, models, transaction
from django.db.models import lookups
from django.db.models.functions import Cast
from django.utils.dateparse import parse_date


class EncryptionKeyError(ImproperlyConfigured):
    """Stored ciphertext cannot be read with the configured keys (a wrong or missing key)."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise EncryptionKeyError("BLOOM_FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise EncryptionKeyError(
            "BLOOM_FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.BLOOM_FIELD_ENCRYPTION_KEYS))


def newest_fernet() -> Fernet:
    fernet()  # validates the whole list first
    return Fernet(settings.BLOOM_FIELD_ENCRYPTION_KEYS[0].encode())


def encrypt_bytes(value: bytes) -> bytes:
    return fernet().encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return fernet().decrypt(token)
    except InvalidToken as exc:
        raise EncryptionKeyError("Encrypted value cannot be read with the configured keys.") from exc


def encrypt_text(value: str) -> str:
    return encrypt_bytes(value.encode()).decode()


def decrypt_text(token: str) -> str:
    return decrypt_bytes(token.encode()).decode()


def rotate_token(token: str) -> str:
    """Re-encrypt a stored token under the newest key (EncryptionKeyError if no key reads it)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionKeyError("Encrypted value cannot be read with the configured keys.") from exc


# --- Fields -----------------------------------------------------------------------------------------


def _refuse_lookup(model_field, lookup_name: str):
    raise FieldError(
        f"{model_field.model.__name__}.{model_field.name} is encrypted: it cannot be used in SQL "
        f"({lookup_name!r}); filter in Python or use a non-identifying bucket column."
    )


class _EmptyExact(lookups.Exact):
    """`= ''` on an encrypted text column (the one value stored as is); any other value refused."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):  # None: Django turns `= None` into `isnull`
            _refuse_lookup(self.lhs.output_field, "exact")
        return self.rhs


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code sees plain text.

    Encrypted values cannot be searched, filtered or ordered by in SQL: only `isnull` and
    `= ""` lookups are allowed, any other raises FieldError (rather than silently matching
    nothing). The empty string is stored as is (it says nothing).
    """

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _EmptyExact
        if lookup_name != "isnull":
            _refuse_lookup(self, lookup_name)
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        return None

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if self.choices and value not in {choice for choice, _label in self.flatchoices}:
            # The database cannot check a choice inside a token, so every write does here.
            raise ValidationError(f"{value!r} is not one of the choices for {self.name}.", code="invalid_choice")
        return encrypt_text(value)


class _EncryptedTypedField(models.TextField):
    """Ciphertext of `to_text(value)` in a text column; Python sees `from_text(text)`.

    Subclasses give the Python type (`to_python`), its text form and the form field. NULL
    stays NULL (so `isnull` works); any other lookup raises FieldError.
    """

    form_class: type[forms.Field] = forms.CharField

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            _refuse_lookup(self, lookup_name)
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        return None

    def to_text(self, value) -> str:
        return str(value)

    def from_text(self, text: str):
        return self.to_python(text)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return self.from_text(decrypt_text(value))

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        if isinstance(value, models.expressions.Combinable):
            return value
        value = self.to_python(value)
        if value is None or value == "":
            return None
        # The database cannot check ciphertext, so every write checks the range here.
        self.run_validators(value)
        return encrypt_text(self.to_text(value))

    def get_db_prep_save(self, value, connection):
        if hasattr(value, "as_sql"):
            return value
        return self.get_prep_value(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return "" if value is None else self.to_text(value)

    def formfield(self, **kwargs):
        widget = kwargs.get("widget")
        if isinstance(widget, forms.Textarea) or (isinstance(widget, type) and issubclass(widget, forms.Textarea)):
            del kwargs["widget"]  # the admin's TextField widget: a date or number wants its own
        defaults = {"form_class": self.form_class}
        defaults.update(kwargs)
        # models.Field.formfield, not TextField's (which forces a Textarea widget).
        return models.Field.formfield(self, **defaults)


class EncryptedDateField(_EncryptedTypedField):
    """A date, encrypted at rest (ISO text inside the token)."""

    description = "Date (encrypted)"
    form_class = forms.DateField

    def to_python(self, value):
        if value is None or value == "" or isinstance(value, datetime.date):
            return value or None
        try:
            parsed = parse_date(str(value))
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError("Enter a valid date.", code="invalid")
        return parsed

    def to_text(self, value) -> str:
        return value.isoformat()


class EncryptedIntegerField(_EncryptedTypedField):
    """An integer, encrypted at rest; `min_value`/`max_value` are checked in Python (validators)."""

    description = "Integer (encrypted)"
    form_class = forms.IntegerField
    invalid_message = "Enter a whole number."
    parse_errors: tuple[type[Exception], ...] = (TypeError, ValueError)

    def __init__(self, *args, min_value: int | None = None, max_value: int | None = None, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(*args, **kwargs)
        if min_value is not None:
            self.validators.append(validators.MinValueValidator(min_value))
        if max_value is not None:
            self.validators.append(validators.MaxValueValidator(max_value))

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.min_value is not None:
            kwargs["min_value"] = self.min_value
        if self.max_value is not None:
            kwargs["max_value"] = self.max_value
        return name, path, args, kwargs

    def parse(self, value):
        """The number in `value` (neither None nor empty); raises one of `parse_errors` if none."""
        return int(value)

    def to_python(self, value):
        if value is None or value == "":
            return None
        try:
            return self.parse(value)
        except self.parse_errors as exc:
            raise ValidationError(self.invalid_message, code="invalid") from exc

    def formfield(self, **kwargs):
        return super().formfield(min_value=self.min_value, max_value=self.max_value, **kwargs)


class EncryptedDecimalField(EncryptedIntegerField):
    """A decimal, encrypted at rest, with `decimal_places` kept (e.g. hours of sleep, 7.5)."""

    description = "Decimal (encrypted)"
    form_class = forms.DecimalField
    invalid_message = "Enter a number."
    parse_errors = (decimal.InvalidOperation, ValueError)

    def __init__(self, *args, max_digits: int, decimal_places: int, **kwargs):
        self.max_digits, self.decimal_places = max_digits, decimal_places
        super().__init__(*args, **kwargs)
        self.validators.append(validators.DecimalValidator(max_digits, decimal_places))

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(max_digits=self.max_digits, decimal_places=self.decimal_places)
        return name, path, args, kwargs

    def parse(self, value):
        return decimal.Decimal(str(value)).quantize(decimal.Decimal(1).scaleb(-self.decimal_places))

    def formfield(self, **kwargs):
        return super().formfield(max_digits=self.max_digits, decimal_places=self.decimal_places, **kwargs)


class EncryptedJSONField(_EncryptedTypedField):
    """A JSON value (dict or list), encrypted at rest."""

    description = "JSON (encrypted)"
    form_class = forms.JSONField

    def to_text(self, value) -> str:
        return json.dumps(value, sort_keys=True)

    def from_text(self, text: str):
        return json.loads(text)

    def get_prep_value(self, value):
        if isinstance(value, models.expressions.Combinable):
            return value
        if value is None:
            return None
        return encrypt_text(self.to_text(value))


ENCRYPTED_FIELD_TYPES = (EncryptedTextField, _EncryptedTypedField)


# --- Files ------------------------------------------------------------------------------------------


class EncryptedFileSystemStorage(FileSystemStorage):
    """File storage whose files hold one Fernet token of their content (uploaded CVs).

    `save` encrypts with the newest key; `open` decrypts, so code and views read plain bytes.
    Files are read whole (uploads are size-capped by their forms). `rewrite` replaces a
    stored file's bytes in place (migration of old plain files, key rotation).
    """

    def _save(self, name, content):
        content.seek(0)
        return super()._save(name, ContentFile(encrypt_bytes(content.read())))

    def _open(self, name, mode="rb"):
        with super()._open(name, "rb") as handle:
            token = handle.read()
        return ContentFile(decrypt_bytes(token), name=name)

    def read_raw(self, name: str) -> bytes:
        with super()._open(name, "rb") as handle:
            return handle.read()

    def rewrite(self, name: str, data: bytes) -> None:
        with open(self.path(name), "wb") as handle:
            handle.write(data)


def encrypted_file_storage() -> EncryptedFileSystemStorage:
    """The storage FileFields holding health or personal files use (a callable: no settings in migrations)."""
    return EncryptedFileSystemStorage()


def files_encrypt(*, model: type[models.Model], field_name: str, reverse: bool = False) -> int:
    """Encrypt (or, with `reverse`, decrypt) every stored file of `model.field_name` in place.

    Idempotent: files already in the wanted state are left alone. Returns the number changed.
    Missing files are skipped (the admin reports them when someone asks for one).
    """
    storage = EncryptedFileSystemStorage()
    changed = 0
    names = model._base_manager.exclude(**{field_name: ""}).values_list(field_name, flat=True)
    for name in names.iterator():
        if not name or not storage.exists(name):
            continue
        data = storage.read_raw(name)
        try:
            plain = fernet().decrypt(data)
        except InvalidToken:
            if reverse:
                continue
            storage.rewrite(name, encrypt_bytes(data))
        else:
            if not reverse:
                continue
            storage.rewrite(name, plain)
        changed += 1
    return changed


# --- Migrations -------------------------------------------------------------------------------------


# Every Fernet token starts with these characters (version byte 0x80, then the timestamp).
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


def columns_encrypt(
    *, table: str, columns: list[str], reverse: bool = False, plain_only: bool = False, batch_size: int = 1000
) -> None:
    """Replace each value of `table.columns` (text columns) by its Fernet token, or the reverse.

    For data migrations (RunPython) and rows written by SQL (seed_scale, with `plain_only`:
    values that already look like tokens are left alone): runs on raw SQL, so it needs no
    model state. NULL and "" stay as they are. The reverse of an unreadable token raises
    EncryptionKeyError.
    """
    quote = connection.ops.quote_name
    for column in columns:
        last = None
        while True:
            after = "" if last is None else "AND id > %s"
            if plain_only:
                after += f" AND {quote(column)} NOT LIKE '{TOKEN_PREFIX}%%'"
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, {quote(column)} FROM {quote(table)} "  # noqa: S608 - names from migrations
                    f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> '' {after} ORDER BY id LIMIT %s",
                    [*([] if last is None else [last]), batch_size],
                )
                rows = cursor.fetchall()
                converted = [(decrypt_text(v) if reverse else encrypt_text(v), pk) for pk, v in rows]
                cursor.executemany(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s",  # noqa: S608
                    converted,
                )
            if len(rows) < batch_size:
                break
            last = rows[-1][0]


def columns_encrypt_operation(table: str, *columns: str):
    """A reversible RunPython operation running `columns_encrypt` on `table.columns`."""
    from django.db import migrations

    def forward(apps, schema_editor):
        columns_encrypt(table=table, columns=list(columns), plain_only=True)  # safe to re-run

    def backward(apps, schema_editor):
        columns_encrypt(table=table, columns=list(columns), reverse=True)

    return migrations.RunPython(forward, backward)


# --- Key rotation ---------------------------------------------------------------------------------


@dataclass
class RotationResult:
    rotated: int = 0
    current: int = 0
    per_field: dict[str, int] = field(default_factory=dict)


@dataclass
class RotationProgress:
    """Where the rotation of one column (or file field) stands, after each batch (`finished` after its last)."""

    label: str
    seen: int
    total: int
    rotated: int
    finished: bool = False


class KeyRotationError(EncryptionKeyError):
    """Some stored values cannot be read with any configured key; nothing was rewritten."""

    def __init__(self, unreadable: dict[str, int]):
        self.unreadable = unreadable
        listed = "; ".join(f"{label}: {count} row(s)" for label, count in unreadable.items())
        super().__init__(
            f"Cannot decrypt with BLOOM_FIELD_ENCRYPTION_KEYS: {listed}. Nothing was re-encrypted. "
            "Add the key these values were written with (after the new one) and run again."
        )


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every encrypted column of every installed model (found through the app registry)."""
    return [
        (model, model_field)
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, ENCRYPTED_FIELD_TYPES)
    ]


def encrypted_file_fields() -> list[tuple[type[models.Model], models.FileField]]:
    """Every FileField of every installed model whose storage encrypts its files."""
    return [
        (model, model_field)
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, models.FileField) and isinstance(model_field.storage, EncryptedFileSystemStorage)
    ]


def _label(model, model_field) -> str:
    return f"{model._meta.label}.{model_field.name}"


def _stored(model, model_field) -> models.QuerySet:
    """The rows of `model` holding a token in `model_field` (not NULL, not "")."""
    stored = model._base_manager.exclude(**{f"{model_field.name}__isnull": True})
    if isinstance(model_field, EncryptedTextField):
        stored = stored.exclude(**{model_field.name: ""})
    return stored


def _stored_tokens(model, model_field, *, batch_size: int, lock: bool = False) -> Iterator[list[tuple]]:
    """Batches of (pk, raw token) of one encrypted column, in pk order, skipping NULL and ""."""
    stored = _stored(model, model_field)
    last_pk = None
    while True:
        with transaction.atomic():
            batch = stored.select_for_update() if lock else stored
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(
                batch.annotate(_raw=Cast(model_field.name, models.TextField()))
                .order_by("pk")
                .values_list("pk", "_raw")[:batch_size]
            )
            yield rows
        if len(rows) < batch_size:
            return
        last_pk = rows[-1][0]


def _stored_files(model, model_field) -> Iterator[str]:
    names = model._base_manager.exclude(**{model_field.name: ""}).order_by("pk")
    for name in names.values_list(model_field.name, flat=True).iterator():
        if name and model_field.storage.exists(name):
            yield name


def _decrypts(keys: Fernet | MultiFernet, token: bytes) -> bool:
    """Whether `keys` can read `token`."""
    try:
        keys.decrypt(token)
    except InvalidToken:
        return False
    return True


def encryption_keys_check(*, batch_size: int = 500) -> dict[str, int]:
    """{field label: how many stored values no configured key can read}, only fields with some.

    Reads every encrypted column and file; writes nothing. Raises EncryptionKeyError when
    the key setting itself is empty or malformed.
    """
    keys = fernet()
    unreadable: dict[str, int] = {}
    for model, model_field in encrypted_fields():
        bad = sum(
            1
            for rows in _stored_tokens(model, model_field, batch_size=batch_size)
            for _pk, token in rows
            if token and not _decrypts(keys, token.encode())
        )
        if bad:
            unreadable[_label(model, model_field)] = bad
    for model, model_field in encrypted_file_fields():
        storage = model_field.storage
        bad = sum(1 for name in _stored_files(model, model_field) if not _decrypts(keys, storage.read_raw(name)))
        if bad:
            unreadable[_label(model, model_field)] = bad
    return unreadable


def encryption_keys_rotate(
    *, batch_size: int = 500, progress: Callable[[RotationProgress], None] | None = None
) -> RotationResult:
    """Re-encrypt every encrypted column and encrypted file of every app under the newest key.

    First checks that every stored value is readable with the configured keys; if any is not,
    raises KeyRotationError naming each field and its count, having rewritten nothing.
    Idempotent: values already readable with the newest key are left alone. Each batch
    locks its rows while it rewrites them, so a concurrent edit is never overwritten.
    `progress` is called after every batch of every column, and once more when a column is done.
    """
    unreadable = encryption_keys_check(batch_size=batch_size)
    if unreadable:
        raise KeyRotationError(unreadable)
    newest = newest_fernet()
    result = RotationResult()

    def finish(state: RotationProgress) -> None:
        state.finished = True
        result.rotated += state.rotated
        result.per_field[state.label] = state.rotated
        if progress is not None:
            progress(state)

    for model, model_field in encrypted_fields():
        total = _stored(model, model_field).count()
        state = RotationProgress(label=_label(model, model_field), seen=0, total=total, rotated=0)
        quote = connection.ops.quote_name
        update = (
            f"UPDATE {quote(model._meta.db_table)} SET {quote(model_field.column)} = %s "  # noqa: S608 - from meta
            f"WHERE {quote(model._meta.pk.column)} = %s"
        )
        for rows in _stored_tokens(model, model_field, batch_size=batch_size, lock=True):
            changed = []
            for pk, token in rows:
                if _decrypts(newest, token.encode()):
                    result.current += 1
                else:
                    changed.append((rotate_token(token), pk))
            if changed:
                # `_stored_tokens` yields inside the batch's transaction: the rows are still locked.
                with connection.cursor() as cursor:
                    cursor.executemany(update, changed)
            state.rotated += len(changed)
            state.seen += len(rows)
            state.total = max(state.total, state.seen)
            if len(rows) == batch_size and progress is not None:
                progress(state)
        finish(state)

    for model, model_field in encrypted_file_fields():
        storage = model_field.storage
        names = list(_stored_files(model, model_field))
        state = RotationProgress(label=_label(model, model_field), seen=0, total=len(names), rotated=0)
        for start in range(0, len(names), batch_size):
            for name in names[start : start + batch_size]:
                token = storage.read_raw(name)
                if _decrypts(newest, token):
                    result.current += 1
                    continue
                storage.rewrite(name, fernet().rotate(token))
                state.rotated += 1
            state.seen = min(len(names), start + batch_size)
            if state.seen < len(names) and progress is not None:
                progress(state)
        finish(state)
    return result
