"""`manage.py restore FILE --database-url URL`: restore a `manage.py backup` file into a database.

    manage.py restore bloom-20261202T030000Z.dump.enc --database-url postgres://…/bloom_restored [--force] [--yes]

The target is meant to be a fresh, empty database (`createdb bloom_restored`); one that already
holds tables is refused unless --force (then the dump's objects are dropped and recreated).
Asks to type the database's name unless --yes. An encrypted file is decrypted as it streams
into pg_restore with BLOOM_BACKUP_ENCRYPTION_KEY. pg_restore runs in one transaction and stops
at the first error, so a failed restore leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import psycopg
from django.core.management.base import BaseCommand, CommandError

from bloom import backups


def user_tables(env: dict[str, str]) -> int:
    conninfo = {"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password", "PGDATABASE": "dbname"}
    params = {key: env[name] for name, key in conninfo.items() if env.get(name)}
    try:
        with psycopg.connect(connect_timeout=10, **params) as conn:
            server = conn.info.server_version
            count = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).fetchone()[0]
    except psycopg.OperationalError as exc:
        raise backups.BackupError(f"cannot connect to the target database: {exc}".strip()) from exc
    backups.check_client_matches_server("pg_restore", server)
    return count


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into a (fresh) database."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--database-url", required=True, help="postgres:// URL of the target database")
        parser.add_argument("--force", action="store_true", help="restore into a database that already has tables")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, file, database_url, force=False, yes=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            env, name = backups.libpq_environment_from_url(database_url)
            tables = user_tables(env)
            if tables and not force:
                raise CommandError(
                    f"database {name} is not empty ({tables} tables): restore into a fresh database, "
                    "or pass --force to drop and recreate the dump's objects there"
                )
            if not yes:
                answer = input(f"Restore {path.name} into database {name!r}? Type the database name to go on: ")
                if answer.strip() != name:
                    raise CommandError("not confirmed; nothing was restored")
            self._restore(path, env, clean=bool(tables))
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {path.name} into {name}.")

    def _restore(self, path: Path, env: dict[str, str], *, clean: bool) -> None:
        command = ["pg_restore", "--no-password", "--no-owner", "--no-privileges", "--exit-on-error"]
        command += ["--single-transaction", f"--dbname={env['PGDATABASE']}"]
        if clean:
            command += ["--clean", "--if-exists"]
        encrypted = backups.is_encrypted(path)
        fernet = backups.fernet_from_env() if encrypted else None
        if encrypted and fernet is None:
            raise backups.BackupError(f"{path.name} is encrypted: set {backups.KEY_ENV} to its key")
        with path.open("rb") as source:
            process = subprocess.Popen(  # noqa: S603 (pg_restore with our own arguments)
                command + ([] if encrypted else [str(path)]),
                env=env,
                stdin=subprocess.PIPE if encrypted else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            failure = None
            if encrypted:
                try:
                    for chunk in backups.decrypt_stream(source, fernet):
                        process.stdin.write(chunk)
                except (backups.BackupError, BrokenPipeError) as exc:
                    failure = exc
                    process.kill()  # pg_restore's single transaction is rolled back
                finally:
                    with contextlib.suppress(BrokenPipeError):
                        process.stdin.close()
            stderr = process.stderr.read().decode(errors="replace")
            code = process.wait()
        if isinstance(failure, backups.BackupError):
            raise failure
        if code != 0:
            raise backups.BackupError(f"pg_restore failed (exit {code}): {stderr.strip()}")
