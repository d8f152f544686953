import json
from unittest import mock

import pytest
from django.db import OperationalError


@pytest.mark.django_db
def test_health_reports_database_and_migrations_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["status"] == "up"
    assert body["checks"]["migrations"]["status"] == "up"
    assert body["checks"]["broker"]["status"] == "up"
    assert body["checks"]["worker"]["status"] in {"up", "down"}


@pytest.mark.django_db
def test_health_answers_503_json_when_database_is_down(client):
    with mock.patch("bloom.health.connections") as conns:
        conns.__getitem__.return_value.cursor.side_effect = OperationalError("connection refused")
        response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "down", "error": "OperationalError"}


@pytest.mark.django_db
def test_health_reports_broker_down_without_failing(client, settings):
    from bloom.celery import app

    with mock.patch.object(app, "connection_for_write", side_effect=ConnectionError("no redis")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["status"] == "down"
    assert response.json()["checks"]["worker"]["status"] == "down"


def test_health_answers_503_json_when_the_real_database_is_unreachable():
    """No mock: a fresh process whose DATABASE_URL points at a port nothing listens on."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/healthz');"
        "print(r.status_code); print(r.content.decode())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bloom.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/nowhere",
    }
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    assert status == "503"
    payload = json.loads(body)
    assert payload["status"] == "unavailable"
    assert payload["checks"]["database"]["status"] == "down"
