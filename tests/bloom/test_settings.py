"""Production settings refuse to start without every secret they verify with (docs/adr/0014).

Each case runs `manage.py check --deploy --settings=bloom.settings.prod` in a subprocess with a
clean environment, as a deployment would.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bloom.settings.base import BLOOM_DEV_PLACEHOLDERS

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Variables a test sets itself; whatever the runner's environment holds for them is dropped.
OWN_PREFIXES = ("DJANGO_", "STRIPE_", "BLOOM_FIELD", "CALENDLY_", "ZOOM_", "ANYMAIL_", "EMAIL_USE_")

# The secrets production verifies with, and values a real deployment could have.
PRODUCTION_SECRETS = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "BLOOM_FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(24),
    "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
    "CALENDLY_WEBHOOK_SIGNING_KEY": secrets.token_urlsafe(32),
    "ZOOM_WEBHOOK_SECRET_TOKEN": secrets.token_urlsafe(22),
    "ANYMAIL_WEBHOOK_SECRET": f"{secrets.token_hex(8)}:{secrets.token_hex(16)}",
}


def _deploy_check(**overrides: str | None) -> subprocess.CompletedProcess:
    """`check --deploy` under production settings; an override of None leaves the variable unset."""
    return _manage(["check", "--deploy", "--fail-level", "WARNING"], **overrides)


def _manage(arguments: list[str], **overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update(PRODUCTION_SECRETS)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "bloom.settings.prod"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_production_deploy_check_passes_with_every_secret_set():
    result = _deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({}, "tls=True ssl=False"), ({"EMAIL_USE_SSL": "true"}, "tls=False ssl=True")],
)
def test_production_mail_leaves_over_tls_by_default(overrides, expected):
    result = _manage(
        ["shell", "-c", "from django.conf import settings as s; print(f'tls={s.EMAIL_USE_TLS} ssl={s.EMAIL_USE_SSL}')"],
        **overrides,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(expected)


@pytest.mark.parametrize("name", sorted(PRODUCTION_SECRETS))
def test_production_refuses_to_start_when_a_secret_is_missing(name):
    result = _deploy_check(**{name: None})
    assert result.returncode != 0
    if name == "DJANGO_SECRET_KEY":
        assert "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters" in result.stderr
    else:
        assert f"{name} is not set" in result.stderr
    # Only the missing variable is named: the message says exactly what to fix.
    others = [other for other in PRODUCTION_SECRETS if other != name]
    assert not [other for other in others if other in result.stderr], result.stderr


@pytest.mark.parametrize("name", sorted(BLOOM_DEV_PLACEHOLDERS))
def test_production_refuses_the_development_placeholder_set_explicitly(name):
    result = _deploy_check(**{name: BLOOM_DEV_PLACEHOLDERS[name]})
    assert result.returncode != 0
    assert name in result.stderr
    assert "development placeholder" in result.stderr


def test_a_placeholder_is_refused_in_any_variable():
    result = _deploy_check(CALENDLY_WEBHOOK_SIGNING_KEY=BLOOM_DEV_PLACEHOLDERS["ZOOM_WEBHOOK_SECRET_TOKEN"])
    assert result.returncode != 0
    assert "CALENDLY_WEBHOOK_SIGNING_KEY is a development placeholder" in result.stderr


def test_the_development_encryption_key_is_refused_even_as_an_old_rotation_key():
    keys = (
        f"{PRODUCTION_SECRETS['BLOOM_FIELD_ENCRYPTION_KEYS']},{BLOOM_DEV_PLACEHOLDERS['BLOOM_FIELD_ENCRYPTION_KEYS']}"
    )
    result = _deploy_check(BLOOM_FIELD_ENCRYPTION_KEYS=keys)
    assert result.returncode != 0
    assert "BLOOM_FIELD_ENCRYPTION_KEYS key 2 is a development placeholder" in result.stderr


def test_an_encryption_key_that_is_not_a_fernet_key_is_refused():
    result = _deploy_check(BLOOM_FIELD_ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "BLOOM_FIELD_ENCRYPTION_KEYS key 1 is not a Fernet key" in result.stderr


def test_every_missing_secret_is_named_at_once():
    result = _deploy_check(**dict.fromkeys(PRODUCTION_SECRETS))
    assert result.returncode != 0
    for name in PRODUCTION_SECRETS:
        assert name in result.stderr
