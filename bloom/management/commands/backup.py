"""`manage.py backup`: pg_dump the database (custom format), optionally encrypted, keep the newest N.

    manage.py backup [--dir DIR] [--keep N] [--no-encrypt]

DIR defaults to BLOOM_BACKUP_DIR, N to BLOOM_BACKUP_KEEP (14). The file is
`bloom-<UTC timestamp>.dump`, or `.dump.enc` when BLOOM_BACKUP_ENCRYPTION_KEY is set (a Fernet
key; comma-separated for rotation, newest first). It is written under a temporary name and
renamed when complete, so a failed run leaves no file that looks like a backup. Retention
deletes the oldest `bloom-*.dump[.enc]` files in DIR beyond N, and only after a backup
succeeded. Restore with `manage.py restore` (docs/operations.md).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from bloom import backups


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest backup files in `directory` beyond the newest `keep`; the deleted paths."""
    files = sorted(path for path in directory.iterdir() if backups.FILE_PATTERN.match(path.name))
    doomed = files[: max(0, len(files) - keep)]
    for path in doomed:
        path.unlink()
    return doomed


class Command(BaseCommand):
    help = "Back up the database with pg_dump (custom format), optionally encrypted, keeping the newest N files."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=None, help="target directory (default: BLOOM_BACKUP_DIR)")
        parser.add_argument(
            "--keep", type=int, default=None, help="how many backups to keep (default: BLOOM_BACKUP_KEEP)"
        )
        parser.add_argument("--no-encrypt", action="store_true", help="write a plain dump even when a key is set")

    def handle(self, *args, dir=None, keep=None, no_encrypt=False, **options):
        directory = dir or settings.BLOOM_BACKUP_DIR
        if not directory:
            raise CommandError("no backup directory: pass --dir or set BLOOM_BACKUP_DIR")
        keep = settings.BLOOM_BACKUP_KEEP if keep is None else keep
        if keep < 1:
            raise CommandError("--keep must be at least 1")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            fernet = None if no_encrypt else backups.fernet_from_env()
            path = self._dump(directory, fernet)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        deleted = prune(directory, keep)
        size = path.stat().st_size
        self.stdout.write(f"Backup written: {path} ({size} bytes, {'encrypted' if fernet else 'not encrypted'})")
        if deleted:
            self.stdout.write(f"Retention ({keep}): deleted {', '.join(p.name for p in deleted)}")
        return None

    def _dump(self, directory: Path, fernet) -> Path:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.ensure_connection()
        backups.check_client_matches_server("pg_dump", connection.pg_version)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = directory / f"bloom-{stamp}.dump{'.enc' if fernet else ''}"
        if path.exists():
            raise backups.BackupError(f"{path} already exists (two backups in one second)")
        partial = path.with_name(path.name + ".partial")
        command = ["pg_dump", "--format=custom", "--no-password"]
        env = backups.libpq_environment(connection.settings_dict)
        try:
            with partial.open("wb") as target:
                if fernet:
                    backups.run_piped(command, env, lambda stream: backups.encrypt_stream(stream, target, fernet))
                else:
                    backups.run_piped(command, env, lambda stream: _copy(stream, target))
                target.flush()
                os.fsync(target.fileno())
            partial.chmod(0o600)
            partial.rename(path)
        finally:
            partial.unlink(missing_ok=True)
        return path


def _copy(stream, target) -> None:
    while chunk := stream.read(backups.CHUNK_SIZE):
        target.write(chunk)
