"""Database backups: pg_dump's custom format, optionally encrypted, and their restore.

`manage.py backup` and `manage.py restore` (docs/operations.md, docs/adr/0151) use this.

Encrypted files are framed so a file of any size streams through in constant memory and a
cut-off or reordered file is refused rather than restored in part:

    b"BLOOM-BACKUP-1\\n"  then frames of  [4-byte big-endian length][Fernet token]

Each token's plaintext is an 8-byte sequence number, a 1-byte "last frame" flag and up to
CHUNK_SIZE bytes of the dump. Fernet authenticates each frame; the sequence numbers and the
final flag make order and completeness part of what is authenticated.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

MAGIC = b"BLOOM-BACKUP-1\n"
CHUNK_SIZE = 1 << 20
KEY_ENV = "BLOOM_BACKUP_ENCRYPTION_KEY"
FILE_PATTERN = re.compile(r"^bloom-\d{8}T\d{6}Z\.dump(\.enc)?$")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def fernet_from_env(environ=os.environ) -> MultiFernet | None:
    """The backup key(s) from BLOOM_BACKUP_ENCRYPTION_KEY: comma-separated Fernet keys, newest
    first (older ones still decrypt old backups). None when unset."""
    raw = [key.strip() for key in environ.get(KEY_ENV, "").split(",") if key.strip()]
    if not raw:
        return None
    try:
        return MultiFernet([Fernet(key.encode()) for key in raw])
    except ValueError as exc:
        raise BackupError(f"{KEY_ENV} holds a value that is not a Fernet key") from exc


def encrypt_stream(source: BinaryIO, target: BinaryIO, fernet: MultiFernet) -> None:
    target.write(MAGIC)
    sequence = 0
    chunk = source.read(CHUNK_SIZE)
    while True:
        following = source.read(CHUNK_SIZE) if chunk else b""
        last = not following
        token = fernet.encrypt(struct.pack(">QB", sequence, last) + chunk)
        target.write(struct.pack(">I", len(token)) + token)
        if last:
            return
        sequence, chunk = sequence + 1, following


def decrypt_stream(source: BinaryIO, fernet: MultiFernet) -> Iterator[bytes]:
    """The dump's bytes, frame by frame; BackupError for a wrong key or a damaged file."""
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("not an encrypted Bloom backup")
    expected = 0
    while True:
        header = source.read(4)
        if len(header) < 4:
            raise BackupError("the encrypted backup is cut off (no final frame)")
        (length,) = struct.unpack(">I", header)
        token = source.read(length)
        try:
            plain = fernet.decrypt(token)
        except InvalidToken as exc:
            raise BackupError(f"frame {expected} does not decrypt: wrong {KEY_ENV} or a damaged file") from exc
        sequence, last = struct.unpack(">QB", plain[:9])
        if sequence != expected:
            raise BackupError(f"frame {expected} is out of order (found {sequence})")
        yield plain[9:]
        if last:
            if source.read(1):
                raise BackupError("data after the final frame")
            return
        expected += 1


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def libpq_environment(database: dict) -> dict[str, str]:
    """PG* variables for pg_dump from a Django DATABASES entry (the password never on argv)."""
    env = dict(os.environ)
    options = database.get("OPTIONS") or {}
    values = {
        "PGHOST": database.get("HOST") or options.get("host") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": database["NAME"],
    }
    env.update({name: value for name, value in values.items() if value})
    return env


def libpq_environment_from_url(url: str) -> tuple[dict[str, str], str]:
    """PG* variables and the database name of a postgres:// URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        raise BackupError(f"--database-url must be a postgres:// URL, not {parsed.scheme or 'empty'}://")
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise BackupError("--database-url names no database")
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    database = {
        "HOST": unquote(parsed.hostname or "") or unquote(query.get("host", "")),
        "PORT": parsed.port or "",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "NAME": name,
    }
    return libpq_environment(database), name


def _major(version_text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if not match:
        raise BackupError(f"cannot read a version from {version_text!r}")
    return int(match.group(1))


def client_major(binary: str) -> int:
    path = shutil.which(binary)
    if not path:
        raise BackupError(f"{binary} is not on PATH; install the PostgreSQL client of the server's major version")
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)  # noqa: S603 (a PATH binary)
    return _major(done.stdout)


def check_client_matches_server(binary: str, server_version_num: int) -> None:
    """pg_dump older than the server cannot dump it; newer ones can, and pg_restore reads older formats."""
    client, server = client_major(binary), server_version_num // 10000
    if client < server:
        raise BackupError(
            f"{binary} is PostgreSQL {client} but the server is {server}: install the {server} client "
            f"(e.g. postgresql-client-{server}) and put it first on PATH"
        )


def run_piped(command: list[str], env: dict[str, str], sink) -> None:
    """Run `command`, handing its stdout to `sink(stream)`; BackupError with its stderr on failure."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
    try:
        sink(process.stdout)
    finally:
        process.stdout.close()
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        code = process.wait()
    if code != 0:
        raise BackupError(f"{command[0]} failed (exit {code}): {stderr.strip()}")
