"""Production serving (docs/adr/0150): the prod-check core serves prod settings under gunicorn.

The check runs against the suite's own (already migrated) test database, so `migrate` has
nothing to do; `make prod-check` runs the same core against a database of its own.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Ports given to this helper's servers; the check binds one of them.
PROD_CHECK_PORT = 8171


def _prod_check_module():
    spec = importlib.util.spec_from_file_location("prod_check", BASE_DIR / "scripts" / "prod_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["prod_check"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _base_env() -> dict[str, str]:
    own = ("DJANGO_", "STRIPE_", "BLOOM_FIELD", "CALENDLY_", "ZOOM_", "ANYMAIL_", "BLOOM_DB_POOL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    db = connections["default"].settings_dict  # the test database's name, once it is set up
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return env


@pytest.fixture
def test_database(db):
    """The suite's test database, migrated; the check's processes use it (this test writes nothing)."""


@pytest.mark.timeout(600)
def test_prod_check_serves_health_portal_login_admin_and_static_under_gunicorn(test_database):
    prod_check = _prod_check_module()
    result = prod_check.run_prod_check(_base_env(), port=PROD_CHECK_PORT)
    assert not result.refused, result.refused
    names = [check.name for check in result.checks]
    assert names == [
        "/healthz answers 200 with the database up and no pending migrations",
        "the portal home answers 200",
        "the login page answers 200 with its form and a CSRF token",
        "the admin sends a visitor to its login, which is the sign-in page",
        "a hashed static file is served by WhiteNoise with a far-future cache",
    ], result.log[-3000:]
    failed = [f"{check.name}: {check.detail}" for check in result.checks if not check.ok]
    assert not failed, "\n".join(failed) + "\n" + result.log[-3000:]
    assert result.ok
    # gunicorn ran the configured number of workers under the gthread class.
    assert "Using worker: gthread" in result.log
    assert result.log.count("Booting worker with pid") >= 2
    # Production logs one JSON object per line: the request line of /healthz, with its id.
    lines = [json.loads(line) for line in result.log.splitlines() if line.startswith('{"')]
    health = [line for line in lines if line.get("event") == "request" and line.get("route") == "/healthz"]
    assert health and health[0]["status"] == 200 and len(health[0]["request_id"]) == 32, result.log[-3000:]


@pytest.mark.timeout(300)
def test_prod_check_fails_with_a_clear_message_when_a_secret_is_missing(test_database):
    prod_check = _prod_check_module()
    env = {**_base_env(), "STRIPE_WEBHOOK_SECRET": ""}
    result = prod_check.run_prod_check(env, port=PROD_CHECK_PORT)
    assert not result.ok
    assert result.checks == []  # gunicorn never started
    assert result.refused.startswith("Production settings refuse to start:")
    assert "  - STRIPE_WEBHOOK_SECRET is not set" in result.refused
    assert "DJANGO_SECRET_KEY" not in result.refused  # only what is missing is named


@pytest.mark.parametrize(
    "code",
    ["import bloom.wsgi", "import bloom.asgi", "from bloom.celery import app; app.conf.broker_url"],
    ids=["wsgi", "asgi", "celery"],
)
def test_server_entry_points_refuse_to_start_without_a_settings_module(code):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "refuses to start: DJANGO_SETTINGS_MODULE is not set" in done.stderr
    assert "bloom.settings.prod" in done.stderr


def test_importing_the_bloom_package_needs_no_settings_module():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = "import bloom, bloom.devservices; print('imported')"
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def test_manage_py_says_when_it_uses_development_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "manage.py", "diffsettings", "--output", "unified"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "DJANGO_SETTINGS_MODULE is not set; using bloom.settings.dev (development only)" in done.stderr


def test_gunicorn_workers_follow_the_cores_with_a_ceiling():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", BASE_DIR / "bloom" / "gunicorn_conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert conf.default_workers(1, 12) == 3
    assert conf.default_workers(2, 12) == 5
    assert conf.default_workers(16, 12) == 12
    assert conf.usable_cores() >= 1
    assert conf.wsgi_app == "bloom.wsgi:application"
    assert conf.accesslog is None
