"""Stripe webhook ingestion: Bloom's endpoint against dj-stripe's and against a bare floor view.

    DJANGO_SETTINGS_MODULE=bloom.settings.test DATABASE_URL=... REDIS_URL=... python bench/bench_webhooks.py

What it does, all on loopback and in one scratch database (created and dropped here):
1. migrates the scratch database and seeds dj-stripe's Account/APIKey rows and a
   WebhookEndpoint (uuid URL, verify_signature, same secret as Bloom's endpoint);
2. starts a local Stripe API stub (dj-stripe re-fetches every object and looks up the
   account through the API, so it must answer fast and locally: the comparison measures
   processing, not the network) and gunicorn with 2 x cores + 1 sync workers;
3. POSTs signed `payment_intent.*` events from 16 concurrent senders (threads in a spawned,
   stdlib-only process) at each endpoint in six short rounds, the endpoints' order rotated
   each round, and reports requests/s and p50/p99 latency with the load average;
4. starts one Celery worker and reports how fast Bloom's stored events are applied.

Targets: Bloom >= 3.5x dj-stripe's throughput, >= 75% of the floor's, p99 < 30 ms and
(issue 18 point 5) within 1.25x the floor's p99. Processing a stored event, against a bare
insert, is bench/bench_stripe_events.py.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
SENDERS = 16
EVENTS_PER_ROUND = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "500"))
# Short rounds, the endpoints' order rotated each round, so a burst of load from anything
# else on the machine falls on all three alike.
ROUNDS = int(os.environ.get("BENCH_WEBHOOK_ROUNDS", "6"))
WARMUP = 200
# Issue 18 point 5: Bloom's p99 within 1.25x the floor's at SENDERS senders.
P99_TARGET = 1.25
SECRET = "whsec_bloom_tests"  # bloom.settings.test's STRIPE_WEBHOOK_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a Stripe API stub for dj-stripe ---------------------------------------------------------


def payment_intent_json(pi_id: str, status: str = "succeeded") -> dict:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 12000,
        "amount_capturable": 0,
        "amount_received": 12000 if status == "succeeded" else 0,
        "application": None,
        "application_fee_amount": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pi_id}_secret_x",
        "confirmation_method": "automatic",
        "created": int(time.time()),
        "currency": "usd",
        "customer": None,
        "description": "Bench payment",
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_types": ["card"],
        "receipt_email": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


ACCOUNT = {
    "id": "acct_bloombench0001",
    "object": "account",
    "business_profile": {"name": "Bloom Psychology (bench)"},
    "business_type": "company",
    "charges_enabled": True,
    "country": "US",
    "created": 1700000000,
    "default_currency": "usd",
    "details_submitted": True,
    "email": "billing@bloompsychology.example",
    "payouts_enabled": True,
    "settings": {"dashboard": {"display_name": "Bloom bench"}, "branding": {}},
    "type": "standard",
    "metadata": {},
}


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    calls = None  # a multiprocessing.Value shared with the bench process

    def do_GET(self):  # noqa: N802
        with StubHandler.calls.get_lock():
            StubHandler.calls.value += 1
        path = urlparse(self.path).path
        if path == "/v1/account":
            body = ACCOUNT
        elif path.startswith("/v1/payment_intents/"):
            body = payment_intent_json(path.rsplit("/", 1)[-1])
        else:
            self._send(404, {"error": {"type": "invalid_request_error", "message": f"no stub for {path}"}})
            return
        self._send(200, body)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def serve_stub(port: int, calls) -> None:
    """The stub runs in its own process so it does not share a GIL with the senders."""
    StubHandler.calls = calls
    server = ThreadingHTTPServer(("127.0.0.1", port), StubHandler)
    server.daemon_threads = True
    server.serve_forever()


# --- scratch database ---------------------------------------------------------------------


def scratch_database_url(base_url: str, name: str) -> str:
    parsed = urlparse(base_url)
    return urlunparse(parsed._replace(path=f"/{name}"))


def admin_sql(base_url: str, statement: str) -> None:
    import psycopg

    parsed = urlparse(base_url)
    conninfo = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)


# --- load ---------------------------------------------------------------------------------


def signed(event: dict) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    t = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={digest}"


def make_event(payment_id: str | None, event_type: str = "payment_intent.succeeded") -> dict:
    pi_id = f"pi_bench_{uuid.uuid4().hex[:20]}"
    obj = payment_intent_json(pi_id)
    if payment_id:
        obj["metadata"] = {"bloom_payment_id": payment_id, "bloom_kind": "bench_purchase", "bloom_object_id": "b"}
    return {
        "id": f"evt_bench_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def request_bytes(path: str, event: dict) -> bytes:
    body, signature = signed(event)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: {signature}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def post_all(port: int, path: str, events: list[dict]) -> tuple[float, list[float], int]:
    """POST every event with SENDERS concurrent senders; returns (seconds, latencies in ms, failures).

    Requests are prebuilt bytes on plain sockets (gunicorn's sync workers close the
    connection after each response), so the senders spend little CPU of their own.
    """
    requests = [request_bytes(path, e) for e in events]
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    index = iter(range(len(requests)))

    def sender() -> None:
        nonlocal failures
        local, bad = [], 0
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            start = time.perf_counter()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(requests[i])
                    chunks = []
                    while chunk := sock.recv(65536):
                        chunks.append(chunk)
                ok = b"".join(chunks).startswith(b"HTTP/1.1 200")
            except OSError:
                ok = False
            local.append((time.perf_counter() - start) * 1000)
            bad += 0 if ok else 1
        with lock:
            latencies.extend(local)
            failures += bad

    # A short GIL switch interval lets a sender take its timestamp as soon as its response
    # is read; the senders allocate little, so no collection pauses while they time requests.
    sys.setswitchinterval(0.0005)
    gc.disable()
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(SENDERS) as pool:
            for _ in range(SENDERS):
                pool.submit(sender)
        return time.perf_counter() - start, latencies, failures
    finally:
        gc.enable()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load_average() -> str:
    """The machine's 1/5/15-minute load averages: other work on the box shows up in the figures."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer")


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        print("DATABASE_URL is required", file=sys.stderr)
        return 2
    db_name = f"bloom_bench_webhooks_{os.getpid()}"
    db_url = scratch_database_url(base_url, db_name)
    queue = f"bench-webhooks-{os.getpid()}"
    stub_port = free_port()
    stub_calls = multiprocessing.Value("i", 0)
    stub = multiprocessing.get_context("fork").Process(target=serve_stub, args=(stub_port, stub_calls), daemon=True)
    stub.start()
    stub_url = f"http://127.0.0.1:{stub_port}"
    wait_http(stub_port, "/v1/account")

    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "webhooks_bench_settings",
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(BASE_DIR), os.environ.get("PYTHONPATH", "")]),
        "BENCH_STRIPE_API_BASE": stub_url,
        "BLOOM_CELERY_QUEUE": queue,
    }
    os.environ.update(
        {k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "BENCH_STRIPE_API_BASE", "BLOOM_CELERY_QUEUE")}
    )
    sys.path[:0] = [str(BENCH_DIR), str(BASE_DIR)]

    admin_sql(base_url, f'CREATE DATABASE "{db_name}"')
    gunicorn = worker = senders = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        print(f"scratch database {db_name}: migrating ...", flush=True)
        call_command("migrate", verbosity=0, interactive=False)
        endpoint_uuid, payment_ids = seed()
        from django.db import connections

        connections.close_all()
        # This process now holds Django and the whole migration graph. Left to the cyclic
        # GC, each full collection walks all of it while every sender thread waits on the
        # GIL, which showed up as the senders' own latency and throughput. Freeze what is
        # there so collections only look at what the senders allocate.
        gc.collect()
        gc.freeze()
        # The senders run in a fresh interpreter of their own (stdlib only, no Django), so
        # neither this process's heap nor its threads can stretch the latencies they time.
        senders = multiprocessing.get_context("spawn").Pool(1)

        port = free_port()
        workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1))
        gunicorn = subprocess.Popen(
            [
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
                "--chdir",
                str(BASE_DIR),
            ],
            env=env,
        )
        wait_http(port, "/healthz")
        print(f"gunicorn: {workers} sync workers on 127.0.0.1:{port}; {SENDERS} concurrent senders", flush=True)

        targets = {
            "floor": "/bench/floor/",
            "bloom": "/webhooks/stripe/",
            "dj-stripe": f"/djstripe/webhook/{endpoint_uuid}/",
        }
        stub_calls.value = 0
        for path in targets.values():  # warm every worker's connections and imports
            senders.apply(post_all, (port, path, [make_event(None) for _ in range(WARMUP)]))

        results: dict[str, dict] = {name: {"seconds": 0.0, "latencies": [], "failures": 0} for name in targets}
        bloom_payments = iter(payment_ids)
        print(f"load average before the rounds: {load_average()}", flush=True)
        names = list(targets)
        for round_number in range(ROUNDS):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                path = targets[name]
                if name == "bloom":
                    events = [make_event(next(bloom_payments)) for _ in range(EVENTS_PER_ROUND)]
                else:
                    events = [make_event(None) for _ in range(EVENTS_PER_ROUND)]
                seconds, latencies, failures = senders.apply(post_all, (port, path, events))
                results[name]["seconds"] += seconds
                results[name]["latencies"].extend(latencies)
                results[name]["failures"] += failures
                print(f"  round {round_number + 1} {name:9s} {len(events) / seconds:8.0f} req/s", flush=True)

        print(f"load average after the rounds: {load_average()} ({os.cpu_count()} cores)", flush=True)
        print()
        print(f"{'endpoint':10s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'failed':>7s}")
        summary = {}
        for name, r in results.items():
            rps = len(r["latencies"]) / r["seconds"]
            p50, p99 = percentile(r["latencies"], 50), percentile(r["latencies"], 99)
            summary[name] = (rps, p50, p99)
            print(f"{name:10s} {rps:8.0f} {p50:8.2f} {p99:8.2f} {r['failures']:7d}")
        bloom_rps, _p50, bloom_p99 = summary["bloom"]
        vs_djstripe = bloom_rps / summary["dj-stripe"][0]
        vs_floor = bloom_rps / summary["floor"][0]
        print()
        print(
            f"Bloom / dj-stripe throughput: {vs_djstripe:.1f}x (target >= 3.5x)  {'PASS' if vs_djstripe >= 3.5 else 'MISS'}"
        )
        print(f"Bloom / floor throughput:     {vs_floor:.0%} (target >= 75%)  {'PASS' if vs_floor >= 0.75 else 'MISS'}")
        print(
            f"Bloom p99 at {SENDERS} senders:    {bloom_p99:.1f} ms (target < 30 ms)  {'PASS' if bloom_p99 < 30 else 'MISS'}"
        )
        floor_p99 = summary["floor"][2]
        print(
            f"Bloom p99 / floor p99:        {bloom_p99 / floor_p99:.2f}x ({bloom_p99:.1f} / {floor_p99:.1f} ms; "
            f"target <= {P99_TARGET:.2f}x)  {'PASS' if bloom_p99 <= P99_TARGET * floor_p99 else 'MISS'}"
        )
        print(f"Stripe API stub calls made by dj-stripe (incl. warm-up): {stub_calls.value}")

        worker = drain(env, expected=ROUNDS * EVENTS_PER_ROUND)
        failed = sum(r["failures"] for r in results.values())
        return 0 if failed == 0 else 1
    finally:
        if senders is not None:
            senders.terminate()
        for process in (gunicorn, worker):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        stub.terminate()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best-effort cleanup before dropping the database
            pass
        admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        purge_queue(queue)


def seed() -> tuple[str, list[str]]:
    """dj-stripe's account rows (fetched once from the stub), its webhook endpoint, and Bloom payments."""
    from decimal import Decimal

    import stripe
    from django.conf import settings
    from djstripe.models import Account, WebhookEndpoint

    from accounts.models import User
    from billing.models import PaymentIntent

    stripe.api_base = settings.STRIPE_API_BASE
    Account.get_or_retrieve_for_api_key(settings.STRIPE_TEST_SECRET_KEY)
    endpoint_uuid = uuid.uuid4()
    WebhookEndpoint.objects.create(
        id="we_bloombench0001",
        livemode=False,
        api_version="2024-06-20",
        enabled_events=["*"],
        secret=SECRET,
        status="enabled",
        url=f"http://127.0.0.1/djstripe/webhook/{endpoint_uuid}/",
        djstripe_uuid=endpoint_uuid,
        djstripe_validation_method="verify_signature",
    )
    member = User.objects.create_user("bench-member@example.com", password=None)
    payments = PaymentIntent.objects.bulk_create(
        PaymentIntent(
            user=member,
            kind="bench_purchase",
            object_id=str(i),
            description="Bench purchase",
            amount=Decimal("120.00"),
        )
        for i in range(ROUNDS * EVENTS_PER_ROUND)
    )
    return str(endpoint_uuid), [str(p.pk) for p in payments]


def drain(env: dict, *, expected: int) -> subprocess.Popen:
    """Start one Celery worker (concurrency = cores) and time how fast it applies Bloom's stored events."""
    from django.db import connections

    from billing.models import PaymentIntent, StripeWebhookEvent

    log = (BASE_DIR / ".services").resolve()
    log.mkdir(exist_ok=True)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bloom",
            "worker",
            "--concurrency",
            str(os.cpu_count() or 1),
            "--loglevel",
            "ERROR",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=(log / "bench-webhooks-worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    start = time.perf_counter()
    deadline = start + 300
    paid = 0
    while time.perf_counter() < deadline:
        paid = PaymentIntent.objects.filter(status="succeeded").count()
        if paid >= expected:
            break
        time.sleep(0.25)
        connections.close_all()
    seconds = time.perf_counter() - start
    pending = StripeWebhookEvent.objects.filter(processed=False).count()
    print(
        f"worker drain ({os.cpu_count()} processes): {paid} of {expected} payments marked paid from their stored "
        f"events in {seconds:.1f} s ({paid / seconds:.0f} events/s incl. worker start-up); {pending} events left"
    )
    return worker


def purge_queue(queue: str) -> None:
    try:
        import redis

        from bloom.queues import queue_names

        client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        client.delete(*queue_names(prefix=queue))
    except Exception:  # noqa: BLE001, S110 - the queue holds only ids of events in the dropped database
        pass


if __name__ == "__main__":
    sys.exit(main())
