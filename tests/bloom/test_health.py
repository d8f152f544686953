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
