import pytest

from bloom.celery import ping


@pytest.mark.worker
def test_task_round_trips_through_a_real_worker(celery_worker_process):
    result = ping.delay("hello")
    assert result.get(timeout=30) == "pong:hello"
