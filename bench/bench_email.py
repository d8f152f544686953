"""Outbox throughput: Bloom's drain against the transport, Django itself and two peer libraries.

Run: `make bench`, or `DJANGO_SETTINGS_MODULE=bloom.settings.test DATABASE_URL=... REDIS_URL=...
python bench/bench_email.py` (BENCH_EMAIL_N messages, default 2000). It creates and migrates its
own database (the DATABASE_URL one when it is named `bloom_bench_<something>`, else
`bloom_bench_email` on that server) and starts an aiosmtpd sink in a
subprocess on loopback, so the sink never competes with the sender for the GIL. Every contender
sends the same N messages (text + HTML, one recipient each) over the same loopback sink:

- transport limit: smtplib sending prebuilt bytes over one connection;
- library limit: Django's `send_messages` over one connection (builds each MIME message);
- Bloom: `email_queue_drain()` on rows queued with `email_enqueue` (claim, send, commit per row);
- django-post-office: `manage.py send_queued_mail` on `post_office.mail.send` rows;
- django-mailer: `manage.py send_mail` on `mailer.send_html_mail` rows.

Queuing is not timed in that table; only sending the queued mail is. Two more tables:

- end to end (issue 18 point 7): queueing and sending the same N messages, timed together, for
  Bloom (`email_enqueue` renders, inlines and builds the MIME message at queue time), post-office
  and django-mailer (which do less when queueing and more when sending);
- at scale (issue 18 point 6): the outbox first holds BENCH_EMAIL_BACKLOG rows of history
  (default 1,000,000: sent, failed, cancelled, and pending ones scheduled days ahead), then N due
  rows are drained; the drain's claim is EXPLAINed (it must be an index scan of the claim index
  with no sort), and the rate is compared with the same drain on an outbox of N rows (target:
  within 10%). The backlog is inserted set-based, with the audit trigger off while it is written.
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_EMAIL_N", "2000"))
ROUNDS = int(os.environ.get("BENCH_EMAIL_ROUNDS", "2"))
BACKLOG = int(os.environ.get("BENCH_EMAIL_BACKLOG", "1000000"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("SMTP sink did not start")


def _default_database() -> str:
    """The DATABASE_URL database when it is a scratch bench one (bloom_bench_<app>), else bloom_bench_email."""
    name = urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/")
    return name if name.startswith("bloom_bench_") else "bloom_bench_email"


def _ensure_database(name: str) -> None:
    import psycopg

    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bloom"))
    admin_url = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup() -> tuple[subprocess.Popen, int]:
    port = _free_port()
    sink = _start_sink(port)
    os.environ["BENCH_SMTP_PORT"] = str(port)
    (ROOT / ".services").mkdir(exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_email"
    os.environ.setdefault("BENCH_EMAIL_DB", _default_database())
    _ensure_database(os.environ["BENCH_EMAIL_DB"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return sink, port


def _content():
    from django.template.loader import render_to_string

    html = render_to_string(
        "emails/notifications/notice.html",
        {"title": "Your session is tomorrow", "message": "See you at 10:00.", "notifications_url": "https://x/n/"},
    )
    text = "Your session is tomorrow\n\nSee you at 10:00.\n"
    return "Your session is tomorrow", text, html


def _recipients():
    return [f"member{i}@example.com" for i in range(N)]


def _django_messages():
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    subject, text, html = _content()
    messages = []
    for to in _recipients():
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def bench_transport(port: int) -> float:
    from django.conf import settings

    prebuilt = [(m.to[0], m.message().as_bytes(linesep="\r\n")) for m in _django_messages()]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for to, data in prebuilt:
            smtp.sendmail(settings.DEFAULT_FROM_EMAIL, [to], data)
    return time.perf_counter() - started


def bench_django_library() -> float:
    from django.core.mail import get_connection

    messages = _django_messages()
    started = time.perf_counter()
    with get_connection() as connection:
        sent = connection.send_messages(messages)
    elapsed = time.perf_counter() - started
    assert sent == N, sent
    return elapsed


def bench_bloom() -> float:
    from django.db import transaction

    from notifications.drain import email_queue_drain
    from notifications.models import EmailQueue
    from notifications.services import email_enqueue

    EmailQueue.objects.all().delete()
    subject, text, html = _content()
    with transaction.atomic():
        for to in _recipients():
            email_enqueue(to=to, subject=subject, text_body=text, html_body=html)
        transaction.get_connection().run_on_commit.clear()  # no Celery wake-up: the bench drains itself
    started = time.perf_counter()
    result = email_queue_drain()
    elapsed = time.perf_counter() - started
    assert result.sent == N, result
    return elapsed


def bench_bloom_synchronous() -> float:
    """Bloom's drain with BLOOM_EMAIL_SYNCHRONOUS_COMMIT: every "sent" mark waits for the WAL flush."""
    from django.test import override_settings

    with override_settings(BLOOM_EMAIL_SYNCHRONOUS_COMMIT=True):
        return bench_bloom()


def bench_post_office() -> float:
    from django.conf import settings
    from django.core.management import call_command
    from post_office import mail
    from post_office.models import Email

    Email.objects.all().delete()
    subject, text, html = _content()
    for to in _recipients():
        mail.send(
            [to], settings.DEFAULT_FROM_EMAIL, subject=subject, message=text, html_message=html, priority="medium"
        )
    started = time.perf_counter()
    call_command("send_queued_mail", processes=1, log_level=0, lockfile=settings.POST_OFFICE_LOCK_PATH)
    elapsed = time.perf_counter() - started
    sent = Email.objects.filter(status=0).count()
    assert sent == N, f"post_office sent {sent}"
    return elapsed


def bench_mailer() -> float:
    from django.conf import settings
    from django.core.management import call_command
    from mailer import send_html_mail
    from mailer.models import Message, MessageLog

    Message.objects.all().delete()
    MessageLog.objects.all().delete()
    subject, text, html = _content()
    for to in _recipients():
        send_html_mail(subject, text, html, settings.DEFAULT_FROM_EMAIL, [to])
    started = time.perf_counter()
    call_command("send_mail", verbosity=0)
    elapsed = time.perf_counter() - started
    remaining = Message.objects.count()
    assert remaining == 0, f"django-mailer left {remaining}"
    return elapsed


def _queue_bloom() -> None:
    from django.db import transaction

    from notifications.services import email_enqueue

    subject, text, html = _content()
    with transaction.atomic():
        for to in _recipients():
            email_enqueue(to=to, subject=subject, text_body=text, html_body=html)
        transaction.get_connection().run_on_commit.clear()  # no Celery wake-up: the bench drains itself


def bench_bloom_end_to_end() -> float:
    from notifications.drain import email_queue_drain
    from notifications.models import EmailQueue

    EmailQueue.objects.all().delete()
    started = time.perf_counter()
    _queue_bloom()
    result = email_queue_drain()
    elapsed = time.perf_counter() - started
    assert result.sent == N, result
    return elapsed


def bench_post_office_end_to_end() -> float:
    from django.conf import settings
    from django.core.management import call_command
    from post_office import mail
    from post_office.models import Email

    Email.objects.all().delete()
    subject, text, html = _content()
    started = time.perf_counter()
    for to in _recipients():
        mail.send(
            [to], settings.DEFAULT_FROM_EMAIL, subject=subject, message=text, html_message=html, priority="medium"
        )
    call_command("send_queued_mail", processes=1, log_level=0, lockfile=settings.POST_OFFICE_LOCK_PATH)
    elapsed = time.perf_counter() - started
    assert Email.objects.filter(status=0).count() == N
    return elapsed


def bench_mailer_end_to_end() -> float:
    from django.conf import settings
    from django.core.management import call_command
    from mailer import send_html_mail
    from mailer.models import Message, MessageLog

    Message.objects.all().delete()
    MessageLog.objects.all().delete()
    subject, text, html = _content()
    started = time.perf_counter()
    for to in _recipients():
        send_html_mail(subject, text, html, settings.DEFAULT_FROM_EMAIL, [to])
    call_command("send_mail", verbosity=0)
    elapsed = time.perf_counter() - started
    assert Message.objects.count() == 0
    return elapsed


# History the outbox keeps (retention trims it later): mostly sent, some failed and cancelled,
# and pending rows scheduled 1 to 14 days ahead (reminders, scheduled newsletters), which sit in
# the claim index without being due. Short bodies: the claim reads ids, not bodies.
_BACKLOG_SQL = """
INSERT INTO email_queue (to_email, from_email, subject, text_body, html_body, mime_message, template_key,
                         category, priority, status, scheduled_at, sent_at, last_error, message_id, created_at)
SELECT 'history' || g || '@example.com', 'hello@bloom.test', 'History', 't', '<p>h</p>', 'm', 'bench/history',
       (ARRAY['transactional', 'marketing', 'clinical'])[1 + g %% 3],
       (ARRAY[10, 50, 90])[1 + g %% 3],
       CASE WHEN g %% 100 < 90 THEN 'sent' WHEN g %% 100 < 94 THEN 'failed'
            WHEN g %% 100 < 97 THEN 'cancelled' ELSE 'pending' END,
       CASE WHEN g %% 100 >= 97 THEN now() + (1 + g %% 14) * interval '1 day'
            ELSE now() - (g %% 365) * interval '1 day' END,
       CASE WHEN g %% 100 < 90 THEN now() - (g %% 365) * interval '1 day' END,
       '', 'history-' || g, now() - (g %% 365) * interval '1 day'
FROM generate_series(%s, %s) AS g
"""


def _backlog_fill(rows: int) -> float:
    """Put `rows` rows of history in the outbox; returns seconds. The audit trigger is off while
    it is written (it is state to measure against, not writes to measure) and on again after."""
    from django.db import connection

    started = time.perf_counter()
    step = 100_000
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE email_queue DISABLE TRIGGER audit_trail_insert")
        try:
            for first in range(1, rows + 1, step):
                last = min(first + step - 1, rows)
                cursor.execute(_BACKLOG_SQL, [first, last])
                print(f"    backlog {last:>9,} / {rows:,} rows", flush=True)
        finally:
            cursor.execute("ALTER TABLE email_queue ENABLE TRIGGER audit_trail_insert")
        cursor.execute("ANALYZE email_queue")
    return time.perf_counter() - started


def _outbox_empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE email_queue CASCADE")
        cursor.execute("ANALYZE email_queue")


def _claim_plan() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM email_queue WHERE status = 'pending' "
            "AND scheduled_at <= now() ORDER BY priority, scheduled_at LIMIT 100 FOR UPDATE SKIP LOCKED"
        )
        return [row[0] for row in cursor.fetchall()]


def bench_bloom_drain_only() -> float:
    """Drain N freshly queued rows, leaving the history in the outbox as it is."""
    from notifications.drain import email_queue_drain
    from notifications.models import EmailQueue

    EmailQueue.objects.exclude(template_key="bench/history").delete()
    _queue_bloom()
    started = time.perf_counter()
    result = email_queue_drain()
    elapsed = time.perf_counter() - started
    assert result.sent == N, result
    return elapsed


def at_scale() -> None:
    """Issue 18 point 6: the drain on an outbox of BACKLOG rows against one of N rows."""
    from notifications.models import EmailQueue

    if BACKLOG <= 0:
        print("At scale: skipped (BENCH_EMAIL_BACKLOG=0)")
        return
    _outbox_empty()
    small = max(N / bench_bloom_drain_only() for _ in range(ROUNDS))
    EmailQueue.objects.all().delete()
    seconds = _backlog_fill(BACKLOG)
    _queue_bloom()
    plan = _claim_plan()
    total = EmailQueue.objects.count()
    large = max(N / bench_bloom_drain_only() for _ in range(ROUNDS))
    _outbox_empty()
    index_scan = any("Index Scan using email_queue_claim_idx" in line for line in plan)
    sorted_ = any(line.strip().startswith("Sort") for line in plan)
    print(f"At scale: the drain with {total:,} rows in the outbox (history of {BACKLOG:,} written in {seconds:.0f} s)")
    print("  claim plan (EXPLAIN ANALYZE, LIMIT 100, N due rows waiting):")
    for line in plan:
        print(f"    {line}")
    verdict = "PASS" if index_scan and not sorted_ else "MISS"
    print(f"  claim is an index scan of email_queue_claim_idx without a sort: {verdict}")
    change = large / small - 1
    print(f"  drain with {N:,} rows in the outbox: {small:8.0f} msg/s")
    print(
        f"  drain with {total:,} rows:   {large:8.0f} msg/s ({100 * change:+.1f}%; target within 10%: "
        f"{'PASS' if change >= -0.10 else 'MISS'})"
    )


def main() -> None:
    sink, port = _setup()
    try:
        contenders = {
            "transport limit (smtplib, prebuilt bytes)": lambda: bench_transport(port),
            "library limit (Django send_messages)": bench_django_library,
            "Bloom drain (claim + send + commit per row)": bench_bloom,
            "Bloom drain, synchronous_commit on": bench_bloom_synchronous,
            "django-post-office send_queued_mail": bench_post_office,
            "django-mailer send_mail": bench_mailer,
        }
        best: dict[str, float] = {}
        for _round in range(ROUNDS):
            for name, run in contenders.items():
                rate = N / run()
                best[name] = max(best.get(name, 0.0), rate)
        print(f"Email outbox throughput: {N} messages to a loopback SMTP sink, best of {ROUNDS} rounds")
        for name, rate in best.items():
            print(f"  {name:<48} {rate:8.0f} msg/s")
        bloom = best["Bloom drain (claim + send + commit per row)"]
        transport = best["transport limit (smtplib, prebuilt bytes)"]
        library = best["library limit (Django send_messages)"]
        peers = max(best["django-post-office send_queued_mail"], best["django-mailer send_mail"])
        print(f"  Bloom / transport limit: {100 * bloom / transport:.0f}% (target >= 50%)")
        print(f"  Bloom / library limit:   {100 * bloom / library:.0f}% (target >= 80%)")
        print(f"  Bloom / best peer:       {bloom / peers:.2f}x (target > 1)")
        ends = {
            "Bloom (email_enqueue + drain)": bench_bloom_end_to_end,
            "django-post-office (mail.send + send_queued_mail)": bench_post_office_end_to_end,
            "django-mailer (send_html_mail + send_mail)": bench_mailer_end_to_end,
        }
        end_best: dict[str, float] = {}
        for _round in range(ROUNDS):
            for name, run in ends.items():
                end_best[name] = max(end_best.get(name, 0.0), N / run())
        print(f"End to end: queue + send of the same {N} messages, timed together, best of {ROUNDS} rounds")
        for name, rate in end_best.items():
            print(f"  {name:<52} {rate:8.0f} msg/s")
        bloom_end = end_best["Bloom (email_enqueue + drain)"]
        peer_end = max(rate for name, rate in end_best.items() if not name.startswith("Bloom"))
        print(
            f"  Bloom / best peer, end to end: {bloom_end / peer_end:.2f}x (target > 1: "
            f"{'PASS' if bloom_end > peer_end else 'MISS'})"
        )
        at_scale()
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    main()
