import pytest

from bloom.celery import ping


@pytest.mark.worker
def test_task_round_trips_through_a_real_worker(celery_worker_process):
    result = ping.delay("hello")
    assert result.get(timeout=30) == "pong:hello"


@pytest.mark.worker
def test_health_reports_the_running_worker_as_up(celery_worker_process, client):
    body = client.get("/healthz").json()
    assert body["checks"]["broker"]["status"] == "up"
    assert body["checks"]["worker"]["status"] == "up"
    assert body["checks"]["worker"]["workers"] >= 1
