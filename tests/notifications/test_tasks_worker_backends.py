"""The drain in a real Celery worker under each email backend the project ships settings for.

console (bloom.settings.dev's default: the mail is in the worker's output), file
(EMAIL_FILE_PATH), and SMTP against loopback: a refused connection and a server that never
answers, then the server coming back. DJANGO_EMAIL_BACKEND picks the backend, as in dev and
test settings. (locmem lives inside one process, so its drain runs in this one:
test_services_drain_backends.py; the SMTP sink's 4xx/5xx answers: test_tasks_worker_drain.py.)
"""

from __future__ import annotations

import os
import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bloom.celery import app
from notifications.models import EmailQueue, EmailStatus
from notifications.services import email_enqueue
from notifications.tasks import email_queue_sweep_task
from tests.accounts.helpers import signup_data
from tests.notifications.conftest import SmtpSink, free_port, point_smtp_at
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CONSOLE = "django.core.mail.backends.console.EmailBackend"
FILE = "django.core.mail.backends.filebased.EmailBackend"


@pytest.fixture
def worker_with(request, monkeypatch):
    """Start the real worker with the given DJANGO_EMAIL_BACKEND (and other environment)."""

    def start(backend: str | None = None, **environment: str):
        if backend:
            monkeypatch.setenv("DJANGO_EMAIL_BACKEND", backend)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return request.getfixturevalue("celery_worker_process")

    return start


def _queue(count: int) -> list[EmailQueue]:
    with transaction.atomic():
        return [
            email_enqueue(to=f"r{i}@example.com", subject=f"Message {i}", text_body=f"Body {i}\n") for i in range(count)
        ]


def _wait(condition, *, timeout: float = 60, what: str = "the worker") -> None:
    wait_until(condition, timeout=timeout, what=what)


def _sent(count: int) -> bool:
    return EmailQueue.objects.filter(status=EmailStatus.SENT).count() >= count


def test_console_worker_prints_the_verification_mail_and_its_link_confirms(worker_with, client, settings):
    worker = worker_with(CONSOLE)
    data = signup_data("new.member@example.com")
    del data["marketing_consent"]  # so the verification mail is the only one

    response = client.post(reverse("account_signup"), data)

    assert response.status_code == 302
    verification = EmailQueue.objects.get(to_email="new.member@example.com")
    _wait(lambda: _sent(1), what="the verification mail")
    _wait(lambda: verification.message_id in worker.log_path.read_text(), what="the printed mail")
    output = worker.log_path.read_text()
    assert "AttributeError" not in output
    printed = output[output.index("Content-Type: multipart/alternative") :]
    assert f"Message-ID: {verification.message_id}" in printed
    assert f"Subject: {verification.subject}" in printed
    assert "To: new.member@example.com" in printed
    link = re.search(re.escape(settings.SITE_URL) + r"(/accounts/confirm-email/[^/\s]+/)", printed)
    assert link, printed[:3000]

    assert client.post(link.group(1)).status_code == 302
    assert EmailAddress.objects.get(email="new.member@example.com").verified
    verification.refresh_from_db()
    assert (verification.status, verification.retry_count) == (EmailStatus.SENT, 0)


def test_file_worker_writes_each_mail_under_email_file_path(worker_with, tmp_path):
    worker_with(FILE, EMAIL_FILE_PATH=str(tmp_path / "mail"))

    rows = _queue(3)

    _wait(lambda: _sent(3), what="three mails")
    written = "".join(path.read_text() for path in (tmp_path / "mail").iterdir())
    for row in rows:
        assert f"Message-ID: {row.message_id}" in written
        assert f"Subject: {row.subject}" in written
    assert written.count("-" * 79) == 3


def test_refused_connection_in_the_worker_waits_for_the_server_then_sends_once(worker_with, settings, monkeypatch):
    port = free_port()  # nothing listens here yet
    point_smtp_at(port, settings, monkeypatch)
    worker = worker_with()

    rows = _queue(5)

    _wait(lambda: EmailQueue.objects.filter(retry_count=1).count() == 2, what="two attempts")
    time.sleep(2)  # a worker looping on the dead server would spend more attempts meanwhile
    assert (
        sorted(EmailQueue.objects.values_list("status", "retry_count")) == [("pending", 0)] * 3 + [("pending", 1)] * 2
    )
    assert "could not connect: ConnectionRefusedError" in EmailQueue.objects.filter(retry_count=1).first().last_error

    sink = SmtpSink(port)  # the server is back
    sink.controller.start()
    try:
        EmailQueue.objects.update(scheduled_at=timezone.now())  # their back-off is over
        email_queue_sweep_task.delay()  # what beat sends every minute
        _wait(lambda: _sent(5), what="all five")
        sink.wait_for(5)
        assert sorted(sink.handler.message_ids()) == sorted(row.message_id for row in rows)
    finally:
        sink.controller.stop()
    assert app.control.ping(destination=[f"{worker.queue}@{os.uname().nodename}"], timeout=2)


def test_a_server_that_never_answers_times_out_in_the_worker_and_the_mail_waits(
    worker_with, silent_smtp_port, settings, monkeypatch
):
    point_smtp_at(silent_smtp_port, settings, monkeypatch, timeout=1)
    worker_with()

    _queue(3)

    _wait(lambda: EmailQueue.objects.filter(retry_count=1).count() == 2, what="two timed-out attempts")
    _wait(lambda: not EmailQueue.objects.filter(status=EmailStatus.SENDING).exists(), what="the batch handed back")
    assert sorted(EmailQueue.objects.values_list("status", "retry_count")) == [
        ("pending", 0),
        ("pending", 1),
        ("pending", 1),
    ]
    assert EmailQueue.objects.filter(retry_count=1).first().last_error == (
        "could not connect: SMTPServerDisconnected: Connection unexpectedly closed: timed out"
    )
