"""`make prod-check`: boot the production configuration locally under gunicorn and check it.

    python scripts/prod_check.py            (make prod-check runs it inside bloom.devservices)

A fresh database takes minutes to migrate (dj-stripe's migrations are slow); later runs are quick.

1. Generates real secrets of test value (never written to disk) for every variable of
   docs/adr/0014 that the environment does not already set; a variable set but empty stays
   empty, so `STRIPE_WEBHOOK_SECRET= make prod-check` shows the refusal.
2. `manage.py check --deploy`, `migrate` and `collectstatic` (into a temporary directory)
   under `bloom.settings.prod`; a required setting missing stops here with prod.py's list.
3. Starts gunicorn with bloom/gunicorn_conf.py on a free port (PROD_CHECK_PORT to choose),
   and checks `/healthz`, the portal home, the login page, the admin (which sends to the
   login page) and one hashed static file served by WhiteNoise; requests carry
   `X-Forwarded-Proto: https` as the TLS-terminating proxy would.
4. Stops gunicorn. Exit 0 when every check passed, 1 otherwise, 2 when production settings
   refused to start.

`run_prod_check()` is the core; tests/bloom/test_prod_check.py calls it.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# The secrets production refuses to start without (bloom/settings/prod.py).
SECRET_NAMES = (
    "DJANGO_SECRET_KEY",
    "BLOOM_FIELD_ENCRYPTION_KEYS",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "CALENDLY_WEBHOOK_SIGNING_KEY",
    "ZOOM_WEBHOOK_SECRET_TOKEN",
    "ANYMAIL_WEBHOOK_SECRET",
)
REFUSED = 2


def generated_secrets() -> dict[str, str]:
    """One fresh value of the right shape for each secret; never the development stand-ins."""
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "BLOOM_FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "STRIPE_SECRET_KEY": "sk_test_prodcheck_" + secrets.token_hex(20),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
        "CALENDLY_WEBHOOK_SIGNING_KEY": secrets.token_urlsafe(32),
        "ZOOM_WEBHOOK_SECRET_TOKEN": secrets.token_urlsafe(22),
        "ANYMAIL_WEBHOOK_SECRET": f"{secrets.token_hex(8)}:{secrets.token_hex(16)}",
    }


def production_environment(base: dict[str, str], static_root: str, port: int) -> dict[str, str]:
    env = dict(base)
    for name, value in generated_secrets().items():
        env.setdefault(name, value)
    env.update(
        DJANGO_SETTINGS_MODULE="bloom.settings.prod",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        BLOOM_SITE_URL=f"https://127.0.0.1:{port}",
        BLOOM_STATIC_ROOT=static_root,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        # Two workers are enough to show the pre-fork setup works, on any machine.
        WEB_CONCURRENCY=env.get("WEB_CONCURRENCY", "2"),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("STRIPE_LIVE_MODE", "false")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ProdCheckResult:
    refused: str = ""  # prod settings' own message when they refused to start
    checks: list[Check] = field(default_factory=list)
    log: str = ""

    @property
    def ok(self) -> bool:
        return not self.refused and bool(self.checks) and all(check.ok for check in self.checks)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=1800
    )


def _refusal(output: str) -> str:
    """prod.py's 'refuse to start' block out of a traceback, or '' when it is not there."""
    match = re.search(r"Production settings refuse to start:\n(?:  - .*\n?)+", output)
    return match.group(0).rstrip() if match else ""


def _wait_until_serving(process: subprocess.Popen, port: int, deadline: float) -> bool:
    """Until a worker answers HTTP: gunicorn's master listens before its workers have loaded Django."""
    import requests

    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"}, timeout=10)
            return True
        except requests.RequestException:
            time.sleep(0.5)
    return False


def _http_checks(base_url: str) -> list[Check]:
    import requests

    session = requests.Session()
    session.headers["X-Forwarded-Proto"] = "https"  # what the TLS-terminating proxy adds

    def get(path: str) -> requests.Response:
        return session.get(base_url + path, allow_redirects=False, timeout=60)

    checks = []
    health = get("/healthz")
    body = health.json() if health.headers.get("Content-Type", "").startswith("application/json") else {}
    checks.append(
        Check(
            "/healthz answers 200 with the database up and no pending migrations",
            health.status_code == 200
            and body.get("checks", {}).get("database", {}).get("status") == "up"
            and body.get("checks", {}).get("migrations", {}).get("status") == "up",
            f"{health.status_code} {body.get('checks')}",
        )
    )
    home = get("/")
    checks.append(Check("the portal home answers 200", home.status_code == 200, f"{home.status_code}"))
    login = get("/accounts/login/")
    checks.append(
        Check(
            "the login page answers 200 with its form and a CSRF token",
            login.status_code == 200 and 'name="csrfmiddlewaretoken"' in login.text and 'name="password"' in login.text,
            f"{login.status_code}",
        )
    )
    admin = get("/admin/")
    admin_login = get("/admin/login/?next=/admin/")
    checks.append(
        Check(
            "the admin sends a visitor to its login, which is the sign-in page",
            admin.status_code == 302
            and admin.headers.get("Location", "").startswith("/admin/login/")
            and admin_login.status_code == 302
            and admin_login.headers.get("Location", "").startswith("/accounts/login/"),
            f"/admin/ {admin.status_code} -> {admin.headers.get('Location')}; "
            f"/admin/login/ {admin_login.status_code} -> {admin_login.headers.get('Location')}",
        )
    )
    # A stylesheet of the home page under its hashed (manifest) name, from WhiteNoise.
    hashed = re.findall(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', home.text)
    if hashed:
        static = get(hashed[0])
        checks.append(
            Check(
                "a hashed static file is served by WhiteNoise with a far-future cache",
                static.status_code == 200
                and static.headers.get("Content-Type", "").startswith("text/css")
                and "immutable" in static.headers.get("Cache-Control", ""),
                f"{hashed[0]} {static.status_code} {static.headers.get('Cache-Control')}",
            )
        )
    else:
        checks.append(Check("the home page links a hashed stylesheet", False, "no /static/...<hash>.css link"))
    return checks


def run_prod_check(base_env: dict[str, str] | None = None, port: int | None = None) -> ProdCheckResult:
    """Boot production settings under gunicorn, check the answers, stop it (see the module docstring)."""
    base_env = dict(os.environ if base_env is None else base_env)
    port = port or int(base_env.get("PROD_CHECK_PORT") or free_port())
    result = ProdCheckResult()
    with tempfile.TemporaryDirectory(prefix="bloom-prodcheck-static-") as static_root:
        env = production_environment(base_env, static_root, port)
        for step in (["check", "--deploy"], ["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            done = _manage(env, *step)
            output = done.stdout + done.stderr
            result.log += f"$ manage.py {' '.join(step)}\n{output}"
            if done.returncode != 0:
                causes = "\n".join(line for line in output.splitlines() if "error connecting" in line)[:1000]
                result.refused = _refusal(output) or f"manage.py {' '.join(step)} failed:\n{causes}\n{output[-2000:]}"
                return result
        gunicorn = [sys.executable, "-m", "gunicorn", "--config", "bloom/gunicorn_conf.py"]
        with tempfile.TemporaryFile(mode="w+") as log:
            process = subprocess.Popen(gunicorn, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                if _wait_until_serving(process, port, time.monotonic() + 180):
                    try:
                        result.checks = _http_checks(f"http://127.0.0.1:{port}")
                    except Exception as exc:  # a timeout or a broken answer is a failed check, not a crash
                        result.checks = [Check("gunicorn answers every request", False, repr(exc))]
                else:
                    result.checks = [Check("gunicorn starts serving", False, f"exit code {process.poll()}")]
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                log.seek(0)
                result.log += "$ gunicorn --config bloom/gunicorn_conf.py\n" + log.read()
    if process.returncode not in (0, -signal.SIGTERM):
        result.checks.append(Check("gunicorn stops cleanly on SIGTERM", False, f"exit code {process.returncode}"))
    return result


def main() -> int:
    print("prod-check: booting bloom.settings.prod under gunicorn with generated secrets", flush=True)
    result = run_prod_check()
    if result.refused:
        print(result.refused, file=sys.stderr)
        print(
            "prod-check FAILED: production settings refused to start; set the variables named above.", file=sys.stderr
        )
        return REFUSED
    for check in result.checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}  ({check.detail})")
    if not result.ok:
        print(result.log[-4000:], file=sys.stderr)
        print("prod-check FAILED", file=sys.stderr)
        return 1
    print("prod-check passed: gunicorn served the production configuration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
