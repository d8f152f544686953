"""Key rotation (bloom.crypto): every app's encrypted columns, found from the models, re-encrypted."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from appointments.models import SessionNote, SessionNoteVersion
from bloom import crypto
from tests.factories.accounts import WellnessEntryFactory
from tests.factories.appointments import SessionNoteFactory

pytestmark = pytest.mark.django_db

SECRET = "Disclosed intrusive thoughts; safety plan reviewed."


def _raw(table: str, column: str, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test constants
        return cursor.fetchone()[0]


def _raw_body(note) -> str:
    return _raw("session_notes", "body", note.pk)


def test_rotation_re_encrypts_under_the_new_key_so_the_old_key_can_go(settings):
    old_key = settings.BLOOM_FIELD_ENCRYPTION_KEYS[0]
    notes = [SessionNoteFactory(body=f"{SECRET} #{i}") for i in range(3)]
    before = {note.pk: _raw_body(note) for note in notes}
    new_key = Fernet.generate_key().decode()
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    out = StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out)
    assert "appointments.SessionNote.body: re-encrypted 3" in out.getvalue()
    assert "appointments.SessionNoteVersion.body: re-encrypted 3" in out.getvalue()  # each note's first version
    for note in notes:
        raw = _raw_body(note)
        assert raw != before[note.pk]
        Fernet(new_key.encode()).decrypt(raw.encode())

    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is removed
    assert sorted(SessionNote.objects.values_list("body", flat=True)) == sorted(f"{SECRET} #{i}" for i in range(3))
    assert sorted(SessionNoteVersion.objects.values_list("body", flat=True)) == sorted(
        f"{SECRET} #{i}" for i in range(3)
    )

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)  # nothing left to do
    assert "Rotated 0 value(s)" in out.getvalue()
    assert "6 already under the newest key" in out.getvalue()  # 3 notes and their 3 versions


def test_rotation_discovers_every_encrypted_field_through_the_app_registry():
    labels = {f"{model._meta.label}.{field.name}" for model, field in crypto.encrypted_fields()}
    assert "appointments.SessionNote.body" in labels
    # Columns of other apps are found the same way, not from a hand-kept list.
    assert {"accounts.WellnessEntry.notes", "accounts.ScreeningResponse.answers", "content.ChatMessage.body"} <= labels


def test_rotation_covers_other_apps_and_reports_progress_per_batch(settings):
    old_key = settings.BLOOM_FIELD_ENCRYPTION_KEYS[0]
    entries = [WellnessEntryFactory(notes=f"slept badly #{i}") for i in range(3)]
    note = SessionNoteFactory(body=SECRET)
    new_key = Fernet.generate_key().decode()
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    seen = []
    result = crypto.encryption_keys_rotate(
        batch_size=2, progress=lambda state: seen.append((state.label, state.seen, state.total, state.finished))
    )
    assert result.per_field["accounts.WellnessEntry.notes"] == 3
    assert result.per_field["appointments.SessionNote.body"] == 1
    assert result.rotated == sum(result.per_field.values())
    wellness = [step for step in seen if step[0] == "accounts.WellnessEntry.notes"]
    assert wellness == [
        ("accounts.WellnessEntry.notes", 2, 3, False),
        ("accounts.WellnessEntry.notes", 3, 3, True),
    ]
    for entry in entries:
        Fernet(new_key.encode()).decrypt(_raw("wellness_entries", "notes", entry.pk).encode())
    Fernet(new_key.encode()).decrypt(_raw_body(note).encode())


def test_command_draws_a_progress_bar_per_column(settings):
    old_key = settings.BLOOM_FIELD_ENCRYPTION_KEYS[0]
    SessionNoteFactory(body=SECRET)
    settings.BLOOM_FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert f"\rappointments.SessionNote.body [{'#' * 30}] 1/1\n" in out.getvalue()
    assert "appointments.SessionNote.body: re-encrypted 1\n" in out.getvalue()
