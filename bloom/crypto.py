"""Encryption at rest for health information (docs/adr/0004).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.
`BLOOM_FIELD_ENCRYPTION_KEYS` lists keys newest first: the first encrypts, all decrypt,
so a key is rotated by prepending a new one and running `manage.py rotate_encryption_keys`
(`encryption_keys_rotate()` below: every app's encrypted columns, found from the models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Cast


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("BLOOM_FIELD_ENCRYPTION_KEYS is empty.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.BLOOM_FIELD_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("Encrypted value cannot be read with the configured keys.") from exc


def rotate_token(token: str) -> str:
    """Re-encrypt a stored token under the newest key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code sees plain text.

    Encrypted values cannot be searched, filtered or ordered by in SQL.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)


# --- Key rotation ---------------------------------------------------------------------------------


@dataclass
class RotationResult:
    rotated: int = 0
    current: int = 0
    per_field: dict[str, int] = field(default_factory=dict)


@dataclass
class RotationProgress:
    """Where the rotation of one column stands, after each batch (`finished` after its last)."""

    label: str
    seen: int
    total: int
    rotated: int
    finished: bool = False


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every EncryptedTextField of every installed model (found through the app registry)."""
    return [
        (model, model_field)
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, EncryptedTextField)
    ]


def encryption_keys_rotate(
    *, batch_size: int = 500, progress: Callable[[RotationProgress], None] | None = None
) -> RotationResult:
    """Re-encrypt every encrypted column of every app under the newest key of BLOOM_FIELD_ENCRYPTION_KEYS.

    Idempotent: values already readable with the newest key are left alone. Each batch
    locks its rows while it rewrites them, so a concurrent edit is never overwritten.
    `progress` is called after every batch of every column, and once more when a column is done.
    """
    newest = Fernet(settings.BLOOM_FIELD_ENCRYPTION_KEYS[0].encode())
    result = RotationResult()
    for model, model_field in encrypted_fields():
        label = f"{model._meta.label}.{model_field.name}"
        manager = model._base_manager
        stored = manager.exclude(**{f"{model_field.name}__isnull": True})
        state = RotationProgress(label=label, seen=0, total=stored.count(), rotated=0)
        last_pk = None
        while True:
            with transaction.atomic():
                batch = stored.select_for_update()
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                rows = list(
                    batch.annotate(_raw=Cast(model_field.name, models.TextField()))
                    .order_by("pk")
                    .values_list("pk", "_raw")[:batch_size]
                )
                for pk, token in rows:
                    if not token:
                        continue
                    try:
                        newest.decrypt(token.encode())
                    except InvalidToken:
                        manager.filter(pk=pk).update(
                            **{model_field.name: Value(rotate_token(token), output_field=models.TextField())}
                        )
                        state.rotated += 1
                    else:
                        result.current += 1
            state.seen += len(rows)
            state.total = max(state.total, state.seen)
            if len(rows) < batch_size:
                break
            last_pk = rows[-1][0]
            if progress is not None:
                progress(state)
        state.finished = True
        result.rotated += state.rotated
        result.per_field[label] = state.rotated
        if progress is not None:
            progress(state)
    return result
