"""Three worker "hosts" on one queue: network namespaces, a SIGKILL and a network cut (issue 15.3).

Run as root on Linux: `make multihost`, or

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/multihost.py [--emails 10000] [--events 3000] [--cut-seconds 30]
    .venv/bin/python bench/multihost.py --cleanup     # remove what a crashed run left behind

What it does (docs/operations.md, "Several worker hosts on one queue"):

1. a bridge `bmh<tag>br` with an address on a private /24 in the root namespace, and three
   network namespaces `bmh-<tag>-<n>`, each joined to it by a veth pair;
2. a TCP relay on the bridge address to PostgreSQL and Redis (they listen on 127.0.0.1 only;
   the machine's configuration is left alone) and an SMTP sink there that logs every message's
   Message-ID and the address of the host that sent it (bench/multihost_services.py);
3. its own database `bloom_multihost_<tag>` (created, migrated, dropped at the end) and its own
   queue `bloom-multihost-<tag>`; N payments awaiting payment, N emails queued with
   `email_enqueue`, and `payment_intent.succeeded` events stored with the Stripe provider's
   `store_payload` (the insert path of a delivery) at a steady rate while the run goes on;
4. a Celery worker (no -Q: it consumes Bloom's queues) in each namespace, and the drain trigger
   in this process: it keeps a few `email_queue_drain_task` / `stripe_events_drain_task`
   messages queued and sends `email_queue_sweep_task` every few seconds (what beat does);
5. when a quarter of the mail is out, every process of host 1 gets SIGKILL; at half, host 2's
   link goes down for --cut-seconds, then up again;
6. when nothing is pending (or at --deadline) the counts are printed. Emails are counted at the
   sink by Message-ID; events by a trigger this script adds to its own database (one row per
   event marked processed) and by the payments' purchase kind (bench/multihost_kind.py: one row
   per on_paid call), so applying an event twice shows even where a second time is a no-op.
   Worker, relay and sink logs are in .services/multihost-<tag>/ (removed after a passing run
   unless --keep-logs).

Exit status: 0 all mail sent, no mail lost, every event applied exactly once, and every
duplicate explained by a disrupted host (a message in flight on host 1 when it was killed or
on host 2 while its network was cut); 1 otherwise; 2 the run could not be set up;
0 with a line starting `SKIP:` when not root or `ip netns` is not permitted here.
Everything (namespaces, bridge, processes, database, queue) is removed in a `finally`, and
`--cleanup` removes whatever a killed run left (it reads .services/multihost-*.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _python() -> str:
    """The project's venv interpreter for the workers and servers (this one when there is none)."""
    venv = ROOT / ".venv" / "bin" / "python"
    try:
        return str(venv) if venv.exists() else sys.executable
    except OSError:  # not readable by this user (the SKIP path runs before anything needs it)
        return sys.executable


PYTHON = _python()
STATE_DIR = ROOT / ".services"
HOSTS = 3
SMTP_PORT = 2525
KILLED, CUT = 1, 2


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def netns_unavailable() -> str | None:
    """Why this machine cannot run the bench (None when it can)."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or in a container with CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    try:
        sh("ip", "-V")
    except (OSError, subprocess.CalledProcessError):
        return "iproute2's `ip` is not installed"
    probe = f"bmh-probe-{os.getpid()}"
    try:
        result = sh("ip", "netns", "add", probe, check=False)
        if result.returncode != 0:
            return f"`ip netns add` is not permitted here: {result.stderr.strip()}"
        link = sh("ip", "link", "add", f"bmhp{os.getpid() % 100000}", "type", "bridge", check=False)
        if link.returncode != 0:
            return f"`ip link add ... type bridge` is not permitted here: {link.stderr.strip()}"
        sh("ip", "link", "del", f"bmhp{os.getpid() % 100000}", check=False)
    finally:
        sh("ip", "netns", "del", probe, check=False)
    return None


# --- teardown ---------------------------------------------------------------------------------


def _netns_pids(namespace: str) -> list[int]:
    result = sh("ip", "netns", "pids", namespace, check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def _kill_namespace(namespace: str) -> int:
    pids = _netns_pids(namespace)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def teardown(state: dict) -> None:
    """Remove everything `state` names; safe to call twice and on a half-built run."""
    for namespace in state.get("namespaces", []):
        _kill_namespace(namespace)
    for pid in state.get("pids", []):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    for pid in state.get("pids", []):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for namespace in state.get("namespaces", []):
        sh("ip", "netns", "del", namespace, check=False)
    if state.get("bridge"):
        sh("ip", "link", "del", state["bridge"], check=False)
    if state.get("database") and not state.get("keep_database"):
        import psycopg

        with contextlib.suppress(Exception), psycopg.connect(state["admin_url"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{state["database"]}" WITH (FORCE)')
    if state.get("queue"):
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis.from_url(state["redis_url"])
            client.delete(state["queue"], *client.keys(f"{state['queue']}*"))
    path = state.get("state_file")
    if path:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()


def _alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cleanup_all() -> int:
    """`--cleanup`: tear down every run recorded under .services whose script is no longer
    running, and every other bmh-* namespace and bmh*br bridge no running run owns."""
    removed = 0
    owned: set[str] = set()
    for path in STATE_DIR.glob("multihost-*.json"):
        try:
            state = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
        if _alive(state.get("pid")):
            owned.update(state.get("namespaces", []))
            owned.add(state.get("bridge") or "")
            continue
        teardown(state)
        removed += 1
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith("bmh-") and name not in owned:
            _kill_namespace(name)
            sh("ip", "netns", "del", name, check=False)
            removed += 1
    for line in sh("ip", "-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith("bmh") and name.endswith("br") and name not in owned:
            sh("ip", "link", "del", name, check=False)
            removed += 1
    print(f"multihost cleanup: removed {removed} run(s), namespace(s) and bridge(s)")
    return 0


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    tag: str = field(default_factory=lambda: f"{random.randrange(16**4):04x}")
    state: dict = field(default_factory=dict)
    workers: dict[int, subprocess.Popen] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.subnet = f"10.{random.randrange(200, 250)}.{random.randrange(1, 255)}"
        self.bridge_ip = f"{self.subnet}.1"
        self.host_ips = {n: f"{self.subnet}.{10 + n}" for n in range(1, HOSTS + 1)}
        self.namespaces = {n: f"bmh-{self.tag}-{n}" for n in range(1, HOSTS + 1)}
        self.bridge = f"bmh{self.tag}br"
        self.queue = f"bloom-multihost-{self.tag}"
        self.database = f"bloom_multihost_{self.tag}"
        db_url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bloom"))
        redis_url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        socket_dir = parse_qs(db_url.query).get("host", [""])[0]
        if not db_url.hostname and socket_dir:  # a socket (bloom.devservices' embedded server)
            self.db_target = f"unix:{socket_dir}/.s.PGSQL.{db_url.port or 5432}"
            db_url = db_url._replace(query="")
        else:
            self.db_target = f"{db_url.hostname or '127.0.0.1'}:{db_url.port or 5432}"
        self.redis_target = f"{redis_url.hostname or '127.0.0.1'}:{redis_url.port or 6379}"
        local = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bloom"))
        self.local_db_url = urlunsplit(local._replace(path=f"/{self.database}"))
        self.admin_url = urlunsplit(local._replace(path="/postgres"))
        self.local_redis_url = urlunsplit(redis_url)
        userinfo = db_url.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{self.bridge_ip}:5432" if userinfo else f"{self.bridge_ip}:5432"
        self.host_db_url = urlunsplit(db_url._replace(netloc=netloc, path=f"/{self.database}"))
        redis_auth = redis_url.netloc.rpartition("@")[0]
        redis_netloc = f"{redis_auth}@{self.bridge_ip}:6379" if redis_auth else None
        self.host_redis_url = urlunsplit(redis_url._replace(netloc=redis_netloc or f"{self.bridge_ip}:6379"))
        self.log_dir = STATE_DIR / f"multihost-{self.tag}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.sink_log = self.log_dir / "smtp-deliveries.log"
        self.state = {
            "pid": os.getpid(),
            "state_file": str(STATE_DIR / f"multihost-{self.tag}.json"),
            "namespaces": [],
            "pids": [],
            "admin_url": self.admin_url,
            "redis_url": self.local_redis_url,
            "keep_database": self.args.keep_database,
        }

    def save(self) -> None:
        Path(self.state["state_file"]).write_text(json.dumps(self.state))

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.marks.get('start', time.monotonic()):7.1f}s] {message}", flush=True)

    # --- network ---

    def network_up(self) -> None:
        self.state["bridge"] = self.bridge
        self.save()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.bridge_ip}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for n, namespace in self.namespaces.items():
            self.state["namespaces"].append(namespace)
            self.save()
            root_end, host_end = f"bmh{self.tag}v{n}", f"bmh{self.tag}n{n}"
            sh("ip", "netns", "add", namespace)
            sh("ip", "link", "add", root_end, "type", "veth", "peer", "name", host_end)
            sh("ip", "link", "set", host_end, "netns", namespace)
            sh("ip", "link", "set", root_end, "master", self.bridge, "up")
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
            sh("ip", "-n", namespace, "link", "set", host_end, "name", "eth0")
            sh("ip", "-n", namespace, "addr", "add", f"{self.host_ips[n]}/24", "dev", "eth0")
            sh("ip", "-n", namespace, "link", "set", "eth0", "up")

    def link(self, n: int, up: bool) -> None:
        sh("ip", "link", "set", f"bmh{self.tag}v{n}", "up" if up else "down")

    def _service(self, name: str, *argv: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 (kept open for the process)
        process = subprocess.Popen(
            [PYTHON, str(ROOT / "bench" / "multihost_services.py"), *argv],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        self.state["pids"].append(process.pid)
        self.save()
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} did not start (see {log.name})")
        return process

    def services_up(self) -> None:
        self._service(
            "relay",
            "forward",
            f"{self.bridge_ip}:5432",
            self.db_target,
            f"{self.bridge_ip}:6379",
            self.redis_target,
        )
        self.sink_log.write_text("")
        self._service(
            "smtp", "sink", f"{self.bridge_ip}:{SMTP_PORT}", str(self.sink_log), str(self.args.smtp_latency_ms)
        )

    # --- database and Django ---

    def environment(self, *, for_host: bool) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings_multihost",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.host_db_url if for_host else self.local_db_url,
            "REDIS_URL": self.host_redis_url if for_host else self.local_redis_url,
            "CELERY_BROKER_URL": self.host_redis_url if for_host else self.local_redis_url,
            "CELERY_RESULT_BACKEND": self.host_redis_url if for_host else self.local_redis_url,
            "BLOOM_CELERY_QUEUE": self.queue,
            "BLOOM_CACHE_PREFIX": self.queue,
            "BENCH_SMTP_HOST": self.bridge_ip,
            "BENCH_SMTP_PORT": str(SMTP_PORT),
            "BLOOM_EMAIL_LEASE_SECONDS": str(self.args.lease_seconds),
            "BLOOM_EMAIL_BATCH_SIZE": str(self.args.batch_size),
            "BLOOM_EMAIL_DRAIN_SECONDS": str(self.args.drain_seconds),
            "EMAIL_TIMEOUT": str(self.args.email_timeout),
        }

    def database_up(self) -> None:
        import psycopg

        self.state["database"] = self.database
        self.state["queue"] = self.queue
        self.save()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            template = f' TEMPLATE "{self.args.template}"' if self.args.template else ""
            conn.execute(f'CREATE DATABASE "{self.database}"{template}')
        os.environ.update(self.environment(for_host=False))
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        started = time.monotonic()
        call_command("migrate", verbosity=0)
        self.log(f"database {self.database} migrated in {time.monotonic() - started:.1f} s")
        self._counting_triggers()

    def _counting_triggers(self) -> None:
        from django.db import connection

        from billing.models import StripeWebhookEvent

        events = StripeWebhookEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"""
                CREATE TABLE multihost_event_applied (event_id uuid, outcome text, at timestamptz DEFAULT clock_timestamp());
                CREATE TABLE multihost_on_paid (payment_id text, at timestamptz DEFAULT clock_timestamp());
                CREATE FUNCTION multihost_event_applied() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO multihost_event_applied (event_id, outcome) VALUES (NEW.id, NEW.outcome); RETURN NEW; END $$;
                CREATE TRIGGER multihost_event_applied AFTER UPDATE ON "{events}" FOR EACH ROW
                    WHEN (NEW.processed AND NOT COALESCE(OLD.processed, false))
                    EXECUTE FUNCTION multihost_event_applied();
            """)  # noqa: S608 (table names from the models' meta)

    def seed(self) -> None:
        from decimal import Decimal

        from django.contrib.auth import get_user_model
        from django.db import transaction

        from bench.multihost_kind import KIND
        from billing.models import PaymentIntent, PaymentStatus
        from notifications.services import email_enqueue

        started = time.monotonic()
        user = get_user_model().objects.create_user(email=f"multihost-{self.tag}@example.com")
        PaymentIntent.objects.bulk_create(
            PaymentIntent(
                user=user,
                kind=KIND,
                object_id=str(i),
                amount=Decimal("50.00"),
                status=PaymentStatus.REQUIRES_PAYMENT,
                stripe_payment_intent_id=self._intent_id(i),
            )
            for i in range(self.args.events)
        )
        text = "Your session is tomorrow at 10:00.\n"
        html = "<p>Your session is tomorrow at <b>10:00</b>.</p>"
        for start in range(0, self.args.emails, 1000):
            with transaction.atomic():
                for i in range(start, min(start + 1000, self.args.emails)):
                    email_enqueue(to=f"member{i}@example.com", subject=f"Reminder {i}", text_body=text, html_body=html)
        self.log(
            f"seeded {self.args.emails} emails and {self.args.events} payments in {time.monotonic() - started:.1f} s"
        )

    def _intent_id(self, i: int) -> str:
        return f"pi_mh{self.tag}x{i:06d}"

    def _event(self, i: int) -> dict:
        return {
            "id": f"evt_mh{self.tag}x{i:06d}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "livemode": False,
            "data": {
                "object": {
                    "id": self._intent_id(i),
                    "object": "payment_intent",
                    "amount": 5000,
                    "amount_received": 5000,
                    "currency": "usd",
                    "status": "succeeded",
                    "latest_charge": f"ch_mh{self.tag}x{i:06d}",
                }
            },
        }

    # --- workers and the trigger ---

    def workers_up(self) -> None:
        for n, namespace in self.namespaces.items():
            log = open(self.log_dir / f"host{n}.log", "w")  # noqa: SIM115
            self.workers[n] = subprocess.Popen(
                # ip netns exec execs celery in the namespace: the Popen pid is celery's main process.
                ["ip", "netns", "exec", namespace, PYTHON, "-m", "celery", "-A", "bloom", "worker"]
                + ["--concurrency", str(self.args.concurrency), "--pool", "prefork", "--loglevel", "WARNING"]
                + ["--hostname", f"host{n}-{self.tag}@%h", "--without-gossip", "--without-mingle"],
                env=self.environment(for_host=True),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def sink_lines(self) -> list[tuple[float, str, str]]:
        lines = []
        for line in self.sink_log.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                lines.append((float(parts[0]), parts[1], parts[2]))
        return lines

    def _pending(self) -> tuple[int, int, int]:
        from billing.models import StripeWebhookEvent
        from notifications.models import EmailQueue, EmailStatus

        mail = EmailQueue.objects.filter(status__in=[EmailStatus.PENDING, EmailStatus.SENDING]).count()
        events = StripeWebhookEvent.objects.filter(processed=False).count()
        sending = EmailQueue.objects.filter(status=EmailStatus.SENDING).count()
        return mail, events, sending

    def drive(self) -> bool:
        """Store events, keep drains queued, disrupt hosts 1 and 2; True when all is drained in time."""
        import redis
        from django.db import transaction

        from billing.tasks import stripe_events_drain_task
        from billing.webhooks import PROVIDER
        from notifications.tasks import email_queue_drain_task, email_queue_sweep_task

        broker = redis.Redis.from_url(self.local_redis_url)
        stored = 0
        started = self.marks["drive"] = time.monotonic()
        deadline = started + self.args.deadline
        last_sweep = 0.0
        cut_until = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            due = min(self.args.events, int((now - started) * self.args.event_rate) + 1)
            if stored < due:
                with transaction.atomic():
                    for i in range(stored, due):
                        PROVIDER.store_payload(self._event(i))
                stored = due
            if broker.llen(self.queue) < 2:
                email_queue_drain_task.delay()
                stripe_events_drain_task.delay()
            if now - last_sweep >= self.args.sweep_seconds:
                email_queue_sweep_task.delay()
                last_sweep = now
            sent = sum(1 for _ in open(self.sink_log))  # noqa: SIM115
            if "kill" not in self.marks and sent >= self.args.emails * 0.25:
                self.notes["killed_processes"] = _kill_namespace(self.namespaces[KILLED])
                self.marks["kill"] = time.time()  # after the kill: what reached the sink before it was in flight
                self.notes["sent_at_kill"] = sent
                self.notes["sending_at_kill"] = self._pending()[2]
                self.log(
                    f"host 1: SIGKILL to its {self.notes['killed_processes']} worker processes "
                    f"({sent} mails at the sink, {self.notes['sending_at_kill']} outbox rows claimed by all hosts)"
                )
            if "cut_start" not in self.marks and "kill" in self.marks and sent >= self.args.emails * 0.5:
                self.link(CUT, up=False)
                self.marks["cut_start"] = time.time()
                cut_until = now + self.args.cut_seconds
                self.log(f"host 2: network cut for {self.args.cut_seconds} s ({sent} mails at the sink)")
            if cut_until is not None and now >= cut_until:
                self.link(CUT, up=True)
                self.marks["cut_end"] = time.time()
                cut_until = None
                self.log("host 2: network back")
            if stored == self.args.events and "cut_end" in self.marks:
                mail, events, _ = self._pending()
                if mail == 0 and events == 0:
                    self.log("outbox and events drained")
                    return True
            time.sleep(0.1)
        if cut_until is not None:
            self.link(CUT, up=True)
        self.log(f"deadline of {self.args.deadline} s reached before everything was drained")
        return False

    def workers_down(self) -> None:
        time.sleep(1.0)  # the sink writes each line before answering 250; this only lets stragglers finish
        for process in self.workers.values():
            if process.poll() is None:
                process.terminate()
        for process in self.workers.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        for namespace in self.namespaces.values():
            _kill_namespace(namespace)

    # --- the figures ---

    def report(self, drained: bool) -> int:
        from django.db import connection

        from billing.models import PaymentIntent, StripeWebhookEvent
        from notifications.models import EmailQueue

        ip_host = {ip: n for n, ip in self.host_ips.items()}
        mail = email_tally(
            queued=dict(EmailQueue.objects.values_list("message_id", "status")),
            deliveries=[(at, ip_host.get(ip, 0), mid) for at, ip, mid in self.sink_lines()],
            kill_at=self.marks.get("kill"),
            cut=(self.marks["cut_start"], self.marks.get("cut_end", time.time()))
            if "cut_start" in self.marks
            else None,
            email_timeout=self.args.email_timeout,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT event_id::text, outcome FROM multihost_event_applied")
            applied = cursor.fetchall()
            cursor.execute("SELECT payment_id FROM multihost_on_paid")
            paid = [row[0] for row in cursor.fetchall()]
        events = event_tally(
            event_ids=[str(pk) for pk in StripeWebhookEvent.objects.values_list("pk", flat=True)],
            applied=applied,
            payment_statuses={str(pk): status for pk, status in PaymentIntent.objects.values_list("pk", "status")},
            paid_moves=paid,
        )
        print(f"\nmultihost: {HOSTS} hosts x {self.args.concurrency} worker processes, queue {self.queue}")
        print(
            f"host 1 SIGKILLed after {self.notes.get('sent_at_kill', '-')} mails (outbox rows claimed by all hosts "
            f"then: {self.notes.get('sending_at_kill', '-')}); host 2 cut for {self.args.cut_seconds:g} s"
        )
        for label, value in [*mail.lines(), *events.lines()]:
            print(f"{label:<46} {value}")
        elapsed = time.monotonic() - self.marks["drive"]
        print(f"{'drained in':<46} {elapsed:.1f} s" + ("" if drained else " (deadline reached)"))
        problems = verdict(mail=mail, events=events, expected_events=self.args.events, drained=drained)
        print("RESULT: " + ("OK" if not problems else "FAIL: " + "; ".join(problems)), flush=True)
        if problems or self.args.keep_logs:
            print(f"logs: {self.log_dir}")
        else:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        return 1 if problems else 0

    def execute(self) -> int:
        self.marks["start"] = time.monotonic()
        self.save()
        try:
            self.network_up()
            self.services_up()
            self.database_up()
            self.seed()
        except Exception as exc:  # noqa: BLE001 (set-up failure: reported, then torn down)
            print(f"multihost: set-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        self.log(f"namespaces {', '.join(self.namespaces.values())} on bridge {self.bridge} ({self.bridge_ip}/24)")
        self.workers_up()
        drained = self.drive()
        self.workers_down()
        return self.report(drained)


# --- counting (pure functions, tested on their own in tests/bloom/test_multihost.py) -----------


@dataclass
class EmailTally:
    queued: int
    once: int
    duplicates: int
    on_killed: int
    on_cut: int
    unexplained: int
    lost: int
    failed: int
    per_host: Counter
    unknown: int

    def lines(self) -> list[tuple[str, object]]:
        return [
            ("emails queued", self.queued),
            ("emails sent once", self.once),
            (
                "emails sent more than once",
                f"{self.duplicates}  (first copy in flight on killed host 1: {self.on_killed}, "
                f"on cut host 2: {self.on_cut}, unexplained: {self.unexplained})",
            ),
            ("emails lost (never reached the SMTP server)", f"{self.lost}  (rows marked failed: {self.failed})"),
            ("mails at the sink by host 1, 2, 3", ", ".join(str(self.per_host[n]) for n in range(1, HOSTS + 1))),
            ("mails at the sink with no outbox row", self.unknown),
        ]


def email_tally(
    *,
    queued: dict[str, str],
    deliveries: list[tuple[float, int, str]],
    kill_at: float | None,
    cut: tuple[float, float] | None,
    email_timeout: float,
) -> EmailTally:
    """Count the outbox (`queued`: Message-ID -> status) against the sink's (time, host, Message-ID) lines.

    A message delivered more than once is put down to a disruption when its first copy came
    from host 1 within `email_timeout` before the SIGKILL (it was in flight there), or from host 2 between
    `email_timeout` before the cut began (the socket wait the cut turns into a failure) and the
    moment the network came back, and it was delivered exactly twice; any other duplicate
    is unexplained.
    """
    copies: dict[str, list[tuple[float, int]]] = defaultdict(list)
    per_host: Counter = Counter()
    unknown = 0
    for at, host, message_id in deliveries:
        per_host[host] += 1
        if message_id in queued:
            copies[message_id].append((at, host))
        else:
            unknown += 1
    on_killed = on_cut = unexplained = 0
    duplicates = {mid: sorted(found) for mid, found in copies.items() if len(found) > 1}
    for found in duplicates.values():
        first_at, first_host = found[0]
        if len(found) > 2:  # one message in flight is sent again once, never twice
            unexplained += 1
        elif first_host == KILLED and kill_at is not None and kill_at - email_timeout <= first_at <= kill_at:
            on_killed += 1
        elif first_host == CUT and cut is not None and cut[0] - email_timeout <= first_at <= cut[1]:
            on_cut += 1
        else:
            unexplained += 1
    return EmailTally(
        queued=len(queued),
        once=sum(1 for mid in queued if len(copies.get(mid, ())) == 1),
        duplicates=len(duplicates),
        on_killed=on_killed,
        on_cut=on_cut,
        unexplained=unexplained,
        lost=sum(1 for mid in queued if not copies.get(mid)),
        failed=sum(1 for status in queued.values() if status == "failed"),
        per_host=per_host,
        unknown=unknown,
    )


@dataclass
class EventTally:
    stored: int
    once: int
    twice: int
    not_applied: int
    other_outcome: int
    payments_paid_once: int

    def lines(self) -> list[tuple[str, object]]:
        return [
            ("events stored", self.stored),
            ("events applied once", f"{self.once}  (payments whose on_paid ran once: {self.payments_paid_once})"),
            ("events applied twice", self.twice),
            (
                "events not applied",
                f"{self.not_applied}  (applied with another outcome than paid: {self.other_outcome})",
            ),
        ]


def event_tally(
    *,
    event_ids: list[str],
    applied: list[tuple[str, str]],
    payment_statuses: dict[str, str],
    paid_moves: list[str],
) -> EventTally:
    """Count events from the run's tables: `applied` has one (event id, outcome) per move of an
    event to processed (a trigger), `paid_moves` one payment id per call of its kind's on_paid
    (bench/multihost_kind.py).

    Applied once: one processed move with outcome "paid". Twice: an event processed more than
    once, or a payment's on_paid called more than once. Not applied: no processed move, or a
    payment not succeeded at the end.
    """
    moves = Counter(event_id for event_id, _outcome in applied)
    outcomes = dict(applied)
    paid = Counter(paid_moves)
    once = sum(1 for pk in event_ids if moves[pk] == 1 and outcomes[pk] == "paid")
    twice = sum(1 for pk in event_ids if moves[pk] > 1) + sum(1 for count in paid.values() if count > 1)
    not_applied = sum(1 for pk in event_ids if moves[pk] == 0) + sum(
        1 for status in payment_statuses.values() if status != "succeeded"
    )
    return EventTally(
        stored=len(event_ids),
        once=once,
        twice=twice,
        not_applied=not_applied,
        other_outcome=sum(1 for pk in event_ids if moves[pk] and outcomes[pk] != "paid"),
        payments_paid_once=sum(1 for count in paid.values() if count == 1),
    )


def verdict(*, mail: EmailTally, events: EventTally, expected_events: int, drained: bool) -> list[str]:
    """What makes the run fail (an empty list: it passed)."""
    problems = []
    if not drained:
        problems.append("not drained before the deadline")
    if mail.lost:
        problems.append(f"{mail.lost} emails lost")
    if mail.unexplained:
        problems.append(f"{mail.unexplained} duplicate emails not explained by a disrupted host")
    if events.twice:
        problems.append(f"{events.twice} events applied twice")
    if events.not_applied or events.other_outcome:
        problems.append(f"{events.not_applied + events.other_outcome} events not applied")
    if events.stored != expected_events:
        problems.append(f"{events.stored} of {expected_events} events stored")
    return problems


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=3_000)
    parser.add_argument("--event-rate", type=float, default=100.0, help="events stored per second during the run")
    parser.add_argument("--cut-seconds", type=float, default=30.0, help="how long host 2's network is down")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes per host")
    parser.add_argument("--smtp-latency-ms", type=float, default=20.0, help="the sink's delay before answering DATA")
    parser.add_argument("--lease-seconds", type=int, default=90, help="BLOOM_EMAIL_LEASE_SECONDS for the workers")
    parser.add_argument("--batch-size", type=int, default=100, help="BLOOM_EMAIL_BATCH_SIZE for the workers")
    parser.add_argument("--drain-seconds", type=int, default=10, help="BLOOM_EMAIL_DRAIN_SECONDS for the workers")
    parser.add_argument("--email-timeout", type=int, default=10, help="EMAIL_TIMEOUT (SMTP socket timeout)")
    parser.add_argument("--sweep-seconds", type=float, default=5.0, help="how often email_queue_sweep_task is sent")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds the drain may take")
    parser.add_argument("--template", default="", help="create the database from this migrated one (faster)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs of a passing run too")
    parser.add_argument("--cleanup", action="store_true", help="remove what earlier runs left behind, then exit")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    reason = netns_unavailable()
    if reason:
        print(f"SKIP: {reason}")
        return 0
    if args.cleanup:
        return cleanup_all()
    run = Run(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` tears down on a plain kill
    try:
        return run.execute()
    finally:
        teardown(run.state)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
