"""Fixtures shared by the whole suite: real PostgreSQL, real Redis, a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url_for_subprocess() -> str:
    """The URL of the database the test run is using (the test_ database)."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or ""
    port = db.get("PORT") or ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{db['NAME']}?host={host}"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and other cache entries never leak between tests."""
    cache.clear()
    yield
    cache.clear()


class WorkerProcess:
    def __init__(self, queue: str, env: dict[str, str]) -> None:
        self.queue = queue
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = BASE_DIR / ".services" / f"worker-{queue}.log"

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
                "-Q",
                self.queue,
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.queue}@%h",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        from bloom.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if app.control.ping(destination=[f"{self.queue}@{os.uname().nodename}"], timeout=0.5):
                return
        raise RuntimeError(f"celery worker did not answer:\n{self.log_path.read_text()[-3000:]}")

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


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A real `celery worker` subprocess on a queue of its own, using the test database.

    Tests using it must commit their data (hence `transactional_db`). Tasks sent from the
    test process go to the worker's queue.
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
    worker = WorkerProcess(queue, env)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.task_default_queue = previous_queue
