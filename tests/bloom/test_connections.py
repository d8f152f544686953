"""Issue 10 point 4: no server Bloom ships leaks database connections.

A burst of 1,000 signed Stripe deliveries (one in ten forged) from 16 concurrent clients hits
a real `runserver` under `bloom.settings.dev` (what `make run` starts) and real gunicorn
under `bloom.settings.prod`: every genuine delivery answers 200 and is stored, every forged
one 400, and PostgreSQL's connection count for the database stays under 40 during the burst
and after it. A prefork Celery worker and a management command work with the pool too.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from billing.models import StripeWebhookEvent
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUESTS = 1000
CLIENTS = 16
FORGED_EVERY = 10
CONNECTION_LIMIT = 40
BURST_DEADLINE_SECONDS = 300
SECRET = "whsec_connections_" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _db_name() -> str:
    return settings.DATABASES["default"]["NAME"]


def _admin_url() -> str:
    """The maintenance database of the same server, so the sampler is not among those counted."""
    parsed = urlparse(database_url_for_subprocess())
    return parsed._replace(scheme="postgresql", path="/postgres").geturl()


def _with_application_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


class ConnectionSampler:
    """Counts the servers' connections to the test database every 50 ms until stopped.

    Servers started here name themselves (`application_name`) after their queue, so only
    their connections are counted, not the suite's own or a neighbouring test's.
    """

    QUERY = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name LIKE 'bloom-test-conn-%%'"

    def __init__(self) -> None:
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self) -> int:
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            return conn.execute(self.QUERY, [_db_name()]).fetchone()[0]

    def _run(self) -> None:
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(self.QUERY, [_db_name()]).fetchone()
                self.samples.append(row[0])
                self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


def _server_env(settings_module: str, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": _with_application_name(database_url_for_subprocess(), queue),
        "BLOOM_CELERY_QUEUE": queue,
        "BLOOM_CACHE_PREFIX": f"{queue}-cache",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def _prod_env(queue: str) -> dict[str, str]:
    """What a deployment sets (README "Configuration"), with values made up for the test."""
    return {
        **_server_env("bloom.settings.prod", queue),
        "DJANGO_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BLOOM_SITE_URL": "https://bloom.example",
        "BLOOM_FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "STRIPE_SECRET_KEY": "sk_test_" + uuid.uuid4().hex,
        "CALENDLY_WEBHOOK_SIGNING_KEY": uuid.uuid4().hex,
        "ZOOM_WEBHOOK_SECRET_TOKEN": uuid.uuid4().hex,
        "ANYMAIL_WEBHOOK_SECRET": f"esp:{uuid.uuid4().hex}",
    }


def _wait_until_serving(process: subprocess.Popen, port: int, log: Path, timeout: float = 120) -> None:
    def still_running() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")

    def answers() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            conn.getresponse().read()
        except OSError:
            return False
        return True

    wait_until(answers, timeout=timeout, interval=0.3, what="the server to answer", check=still_running)


class Server:
    def __init__(self, command: list[str], env: dict[str, str], port: int, name: str) -> None:
        self.command, self.env, self.port = command, env, port
        self.log_path = BASE_DIR / ".services" / f"{name}-{port}.log"

    def __enter__(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=BASE_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_serving(self.process, self.port, self.log_path)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def _delivery(index: int) -> tuple[bytes, str, bool]:
    """A Stripe event signed with Stripe's algorithm; every FORGED_EVERY-th is signed with a wrong secret."""
    forged = index % FORGED_EVERY == 0
    body = json.dumps(
        {
            "id": f"evt_conn_{uuid.uuid4().hex}",
            "object": "event",
            "type": "customer.updated",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": f"cus_conn_{index}", "object": "customer"}},
        }
    ).encode()
    timestamp = int(time.time())
    key = ("whsec_forged_" + uuid.uuid4().hex) if forged else SECRET
    digest = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={digest}", forged


def _burst(port: int) -> Counter:
    """REQUESTS deliveries from CLIENTS threads; returns Counter of (forged, status)."""
    deliveries = [_delivery(i) for i in range(REQUESTS)]
    outcomes: Counter = Counter()
    lock = threading.Lock()
    pending = iter(range(REQUESTS))
    deadline = time.monotonic() + BURST_DEADLINE_SECONDS

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(pending, None)
            if index is None:
                return
            body, signature, forged = deliveries[index]
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(
                    "POST",
                    "/webhooks/stripe/",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "Stripe-Signature": signature,
                        "X-Forwarded-Proto": "https",
                        "Connection": "close",
                    },
                )
                status = conn.getresponse().status
                conn.close()
            except OSError as exc:
                status = type(exc).__name__
            with lock:
                outcomes[(forged, status)] += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        for _ in range(CLIENTS):
            pool.submit(client)
    return outcomes


def _drop_queue(queue: str) -> None:
    from bloom.celery import app
    from bloom.queues import queue_names

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        for name in queue_names(prefix=queue):
            client.delete(name, *client.scan_iter(match=f"{name}\x06\x16*"))


def _assert_burst_bounded(port: int, sampler: ConnectionSampler) -> tuple[int, int]:
    outcomes = _burst(port)
    forged = REQUESTS // FORGED_EVERY
    assert outcomes == Counter({(False, 200): REQUESTS - forged, (True, 400): forged}), outcomes
    assert StripeWebhookEvent.objects.filter(event_type="customer.updated").count() == REQUESTS - forged
    time.sleep(2)  # the requests are answered; whatever a server still holds now, it keeps
    after = sampler.count()
    peak = max(sampler.samples)
    assert peak < CONNECTION_LIMIT, sampler.samples
    assert after < CONNECTION_LIMIT
    print(f"{REQUESTS} deliveries, {CLIENTS} clients: peak {peak} connections, {after} after")
    return peak, after


def test_runserver_under_dev_settings_keeps_connections_bounded():
    port, queue = _free_port(), f"bloom-test-conn-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    try:
        with Server(command, _server_env("bloom.settings.dev", queue), port, "runserver") as server:
            with ConnectionSampler() as sampler:
                peak, after = _assert_burst_bounded(port, sampler)
            assert server.process.poll() is None
    finally:
        _drop_queue(queue)
    # The pool's ceiling for the one runserver process.
    assert after <= settings_pool_max(), (peak, after)


def test_gunicorn_under_production_settings_keeps_connections_bounded():
    port, queue = _free_port(), f"bloom-test-conn-{uuid.uuid4().hex[:8]}"
    workers = 2 * (os.cpu_count() or 1) + 1
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "bloom.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    try:
        with Server(command, _prod_env(queue), port, "gunicorn") as server:
            with ConnectionSampler() as sampler:
                peak, after = _assert_burst_bounded(port, sampler)
            assert server.process.poll() is None
    finally:
        _drop_queue(queue)
    # Sync workers serve one request at a time: one connection each.
    assert after <= workers, (peak, after)


def settings_pool_max() -> int:
    """BLOOM_DB_POOL_MAX_SIZE as the servers above read it (the suite's own settings drop the pool)."""
    return int(os.environ.get("BLOOM_DB_POOL_MAX_SIZE", "10"))


@pytest.mark.worker
def test_a_prefork_worker_with_the_pool_runs_database_tasks_in_each_child():
    """Prefork children must not share a pool across fork: each task queries the database."""
    from bloom.celery import app

    queue = f"bloom-test-conn-{uuid.uuid4().hex[:8]}"
    log_path = BASE_DIR / ".services" / f"worker-{queue}.log"
    env = _server_env("bloom.settings.dev", queue)
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bloom", "worker", "--pool", "prefork"]
            + ["--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            results = [
                app.send_task("notifications.email_queue_sweep_task", queue=queue, ignore_result=False)
                for _ in range(20)
            ]
            with ConnectionSampler() as sampler:
                answers = [result.get(timeout=120) for result in results]
            assert all(isinstance(answer, int) for answer in answers), log_path.read_text()[-3000:]
            assert max(sampler.samples, default=0) < CONNECTION_LIMIT
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            _drop_queue(queue)
    text = log_path.read_text()
    assert "succeeded" in text
    for trouble in ("server closed the connection", "OperationalError", "InterfaceError", "PoolTimeout"):
        assert trouble not in text, text[-3000:]


def test_management_commands_run_with_the_pool():
    env = _server_env("bloom.settings.dev", "bloom-test-conn-unused")
    result = subprocess.run(
        [sys.executable, "manage.py", "cleanup_orphans"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checks," in result.stdout
