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

Queuing is not timed for anyone; only sending the queued mail is.
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
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    main()
