"""Every app's migrations run forwards on an empty database, back to zero, and forwards again.

Runs in a scratch database next to DATABASE_URL so it never touches real data.
"""

import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import psycopg

# Highest apps first, so each step only unapplies that app. `accounts zero` also unapplies
# every third-party app that points at the user table (admin, allauth, dj-stripe), which is
# slow, so `make test` runs this script beside pytest rather than before it.
TARGETS_TOP_DOWN = [
    ("appointments", "zero"),
    ("workshops", "zero"),
    ("courses", "zero"),
    ("content", "zero"),
    ("billing", "zero"),
    ("accounts", "zero"),
    ("notifications", "zero"),
]


def main() -> int:
    base = urlparse(os.environ["DATABASE_URL"])
    name = f"bloom_migrations_check_{os.getpid()}"
    scratch = base._replace(path=f"/{name}").geturl()
    admin = base._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": scratch, "DJANGO_SETTINGS_MODULE": "bloom.settings.test"}
    steps = [["migrate"]] + [["migrate", app, target] for app, target in TARGETS_TOP_DOWN] + [["migrate"]]
    started = time.monotonic()
    try:
        for index, step in enumerate(steps, start=1):
            print(f"[{index}/{len(steps)}] manage.py {' '.join(step)}", flush=True)
            result = subprocess.run(
                [sys.executable, "manage.py", *step, "--noinput", "-v", "0"], env=env, capture_output=True, text=True
            )
            if result.returncode != 0:
                print(result.stdout + result.stderr)
                print(f"FAILED: manage.py {' '.join(step)}")
                return 1
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"Migrations are reversible: {len(steps)} steps in {time.monotonic() - started:.0f}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
