"""Fixtures shared by the whole suite: real PostgreSQL, real Redis, a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.waiting import wait_until

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url_for_subprocess() -> str:
    """The URL of the database the test run is using (the test_ database)."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    # An embedded server is reached by its socket directory, which django-environ leaves in OPTIONS.
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or ""
    port = db.get("PORT") or ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{db['NAME']}?host={host}"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _cache_clear() -> None:
    """Delete this suite's cache keys only.

    `cache.clear()` would FLUSHDB, and the cache shares its Redis database with the Celery
    broker, so it would also drop a running worker's queued tasks.
    """
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and other cache entries never leak between tests."""
    _cache_clear()
    yield
    _cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _drop_unconsumed_test_tasks():
    """Tasks sent to the default test queue with no worker listening are dropped after the run,
    so they never pile up in Redis for the next run or for `make run` to find."""
    yield
    _drop_queues(settings.CELERY_TASK_DEFAULT_QUEUE)


class WorkerProcess:
    """A `celery worker` subprocess for the queue prefix `queue` (its BLOOM_CELERY_QUEUE).

    With `queues` unset it is started without -Q and so consumes every workload queue of the
    prefix, as deploy's one-host worker and `make run`'s do; otherwise only those (full names,
    bloom.queues.queue_name). `name` tells apart several workers on one prefix.
    """

    def __init__(self, queue: str, env: dict[str, str], *, queues: list[str] | None = None, name: str = "") -> None:
        self.queue = queue
        self.queues = queues
        self.node = f"{queue}{'-' + name if name else ''}"
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = BASE_DIR / ".services" / f"worker-{self.node}.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bloom",
                "worker",
                *(["-Q", ",".join(self.queues)] if self.queues else []),
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.node}@%h",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        from bloom.celery import app

        def still_running() -> None:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log_path.read_text()[-3000:]}")

        wait_until(
            # The ping waits up to half a second for an answer: that is the interval.
            lambda: app.control.ping(destination=[f"{self.node}@{os.uname().nodename}"], timeout=0.5),
            timeout=timeout,
            interval=0,
            what=lambda: f"the celery worker to answer:\n{self.log_path.read_text()[-3000:]}",
            check=still_running,
        )

    def kill(self, signal_number: int) -> None:
        self.process.send_signal(signal_number)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


def _drop_queues(prefix: str) -> None:
    """Delete every workload queue of `prefix` (bloom.queues) and its priority lists."""
    from bloom.celery import app
    from bloom.queues import queue_names

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        for queue in queue_names(prefix=prefix):
            client.delete(queue, *client.scan_iter(match=f"{queue}\x06\x16*"))


@pytest.fixture
def celery_queue_prefix(transactional_db, settings):
    """A queue prefix of this test's own (so every workload queue is its own too), and the
    environment a worker subprocess needs to use it and the test database.

    Tasks sent from the test process go to this prefix's queues.
    """
    from bloom.celery import app

    queue = f"bloom-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bloom.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "BLOOM_CELERY_QUEUE": queue,
    }
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    try:
        yield queue, env
    finally:
        app.conf.task_default_queue = previous_queue


@pytest.fixture
def celery_worker_process(celery_queue_prefix):
    """A real `celery worker` subprocess, started without -Q on a queue prefix of its own
    (so it consumes every workload queue), using the test database.

    Tests using it must commit their data (hence `transactional_db`). Tasks sent from the
    test process go to the worker's queues.
    """
    queue, env = celery_queue_prefix
    worker = WorkerProcess(queue, env)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
