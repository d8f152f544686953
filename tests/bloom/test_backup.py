"""Backups that restore (docs/adr/0151): `manage.py backup` then `manage.py restore` round trip.

Rows are committed (transactional_db) so the pg_dump subprocess sees them; the restore goes
into a fresh database of its own, and the key tables are compared by row count and by an md5
of their rows in id order.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from bloom import backups
from bloom.management.commands.backup import prune
from tests.conftest import database_url_for_subprocess
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory
from tests.factories.courses import CourseEnrollmentFactory

KEY_TABLES = ("users", "payment_intents", "course_enrollments", "user_profiles", "django_migrations")
CANARY_EMAIL = "backup-canary-7f3a@example.com"


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {table} t"  # noqa: S608
            ).fetchone()
            for table in KEY_TABLES
        }


@pytest.fixture
def fresh_database():
    source = database_url_for_subprocess()
    parsed = urlparse(source)
    name = parsed.path.lstrip("/") + "_restore"
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield parsed._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def key_rows(transactional_db):
    users = [UserFactory(email=CANARY_EMAIL)] + UserFactory.create_batch(4)
    for user in users[:3]:
        PaymentIntentFactory(user=user, paid=True)
    PaymentIntentFactory(user=users[3])
    for user in users[1:]:
        CourseEnrollmentFactory(user=user)
    return users


@pytest.fixture
def backup_key(monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(backups.KEY_ENV, key)
    return key


def _backup(directory: Path, **options) -> Path:
    out = io.StringIO()
    call_command("backup", dir=str(directory), stdout=out, **options)
    written = out.getvalue().split("Backup written: ", 1)[1].split(" (", 1)[0]
    return Path(written)


@pytest.mark.timeout(600)
def test_an_encrypted_backup_restores_into_a_fresh_database_with_identical_key_tables(
    key_rows, backup_key, fresh_database, tmp_path
):
    path = _backup(tmp_path)
    assert path.name.endswith(".dump.enc")
    assert backups.is_encrypted(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert CANARY_EMAIL.encode() not in path.read_bytes()  # nothing readable without the key

    call_command("restore", str(path), database_url=fresh_database, yes=True, stdout=io.StringIO())

    source = _fingerprint(database_url_for_subprocess())
    restored = _fingerprint(fresh_database)
    assert source == restored
    assert source["users"][0] == 5
    assert source["payment_intents"][0] == 4
    assert source["course_enrollments"][0] == 4


@pytest.mark.timeout(600)
def test_a_plain_backup_restores_too_and_a_non_empty_target_is_refused_without_force(
    key_rows, fresh_database, tmp_path, monkeypatch
):
    monkeypatch.delenv(backups.KEY_ENV, raising=False)
    path = _backup(tmp_path)
    assert path.name.endswith(".dump") and not backups.is_encrypted(path)
    call_command("restore", str(path), database_url=fresh_database, yes=True, stdout=io.StringIO())

    with pytest.raises(CommandError, match=r"is not empty \(\d+ tables\).*--force"):
        call_command("restore", str(path), database_url=fresh_database, yes=True)
    # --force drops and recreates the dump's objects: still identical afterwards.
    call_command("restore", str(path), database_url=fresh_database, yes=True, force=True, stdout=io.StringIO())
    assert _fingerprint(database_url_for_subprocess()) == _fingerprint(fresh_database)


def test_restore_asks_for_the_database_name_unless_yes(key_rows, fresh_database, tmp_path, monkeypatch):
    monkeypatch.delenv(backups.KEY_ENV, raising=False)
    path = _backup(tmp_path)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="not confirmed; nothing was restored"):
        call_command("restore", str(path), database_url=fresh_database)
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def test_an_encrypted_backup_needs_its_key(key_rows, backup_key, fresh_database, tmp_path, monkeypatch):
    path = _backup(tmp_path)
    monkeypatch.setenv(backups.KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(CommandError, match="does not decrypt"):
        call_command("restore", str(path), database_url=fresh_database, yes=True)
    monkeypatch.delenv(backups.KEY_ENV)
    with pytest.raises(CommandError, match="is encrypted: set BLOOM_BACKUP_ENCRYPTION_KEY"):
        call_command("restore", str(path), database_url=fresh_database, yes=True)
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def test_encrypted_frames_refuse_a_cut_off_or_reordered_file():
    fernet = backups.MultiFernet([Fernet(Fernet.generate_key())])
    data = os.urandom(backups.CHUNK_SIZE * 2 + 17)
    sealed = io.BytesIO()
    backups.encrypt_stream(io.BytesIO(data), sealed, fernet)
    blob = sealed.getvalue()
    assert b"".join(backups.decrypt_stream(io.BytesIO(blob), fernet)) == data

    frames, offset = [], len(backups.MAGIC)
    while offset < len(blob):
        length = int.from_bytes(blob[offset : offset + 4], "big")
        frames.append(blob[offset : offset + 4 + length])
        offset += 4 + length
    assert len(frames) == 3
    cut = backups.MAGIC + b"".join(frames[:2])
    with pytest.raises(backups.BackupError, match="cut off"):
        b"".join(backups.decrypt_stream(io.BytesIO(cut), fernet))
    swapped = backups.MAGIC + frames[1] + frames[0] + frames[2]
    with pytest.raises(backups.BackupError, match="out of order"):
        b"".join(backups.decrypt_stream(io.BytesIO(swapped), fernet))
    # An empty dump is still one authenticated final frame.
    empty = io.BytesIO()
    backups.encrypt_stream(io.BytesIO(b""), empty, fernet)
    assert b"".join(backups.decrypt_stream(io.BytesIO(empty.getvalue()), fernet)) == b""


def test_retention_deletes_only_the_oldest_backup_files(tmp_path):
    names = [f"bloom-2026120{day}T024500Z.dump{'.enc' if day % 2 else ''}" for day in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    (tmp_path / "bloom-20261201T024500Z.dump.enc.partial").write_bytes(b"x")
    deleted = prune(tmp_path, keep=2)
    assert [path.name for path in deleted] == names[:3]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [*names[3:], "notes.txt", "bloom-20261201T024500Z.dump.enc.partial"]
    )


@pytest.mark.timeout(600)
def test_backup_applies_its_retention_count_after_a_successful_dump(transactional_db, tmp_path, monkeypatch):
    monkeypatch.delenv(backups.KEY_ENV, raising=False)
    old = [tmp_path / f"bloom-2020010{day}T000000Z.dump" for day in range(1, 4)]
    for path in old:
        path.write_bytes(b"old")
    newest = _backup(tmp_path, keep=2)
    assert sorted(tmp_path.iterdir()) == sorted([old[2], newest])


def test_backup_needs_a_directory(db, settings):
    settings.BLOOM_BACKUP_DIR = ""
    with pytest.raises(CommandError, match="pass --dir or set BLOOM_BACKUP_DIR"):
        call_command("backup")


def test_an_old_pg_dump_is_refused_with_what_to_install(monkeypatch):
    monkeypatch.setattr(backups, "client_major", lambda binary: 14)
    with pytest.raises(backups.BackupError, match=r"pg_dump is PostgreSQL 14 but the server is 15: install the 15"):
        backups.check_client_matches_server("pg_dump", 150020)
    backups.check_client_matches_server("pg_dump", 140011)


def test_the_nightly_backup_is_scheduled_only_where_a_directory_is_set(settings, tmp_path):
    import importlib

    import bloom.schedule

    settings.BLOOM_BACKUP_DIR = ""
    assert "bloom-backup" not in importlib.reload(bloom.schedule).BEAT_SCHEDULE
    settings.BLOOM_BACKUP_DIR = str(tmp_path)
    entry = importlib.reload(bloom.schedule).BEAT_SCHEDULE["bloom-backup"]
    assert entry["task"] == "bloom.backup_task"
    settings.BLOOM_BACKUP_DIR = ""
    importlib.reload(bloom.schedule)


def test_the_backup_task_does_nothing_without_a_directory(settings):
    from bloom.tasks import backup_task

    settings.BLOOM_BACKUP_DIR = ""
    assert backup_task() == "skipped"
