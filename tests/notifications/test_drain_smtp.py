"""The drain against a real SMTP server (aiosmtpd sink on loopback)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications.drain import email_queue_drain
from notifications.models import EmailQueue, EmailStatus, EmailSuppression
from notifications.services import email_queue_sweep, queue_email

pytestmark = pytest.mark.django_db


def test_drain_delivers_over_smtp_with_message_id_and_date(smtp_sink):
    row = queue_email(to="ada@example.com", template="notifications/notice", context={"title": "Hello"})

    assert email_queue_drain().sent == 1

    (received,) = smtp_sink.messages
    assert received["Message-ID"] == row.message_id
    assert received["Date"] is not None
    assert received["Subject"] == "Hello"
    assert received.is_multipart()  # text and HTML alternatives


def test_temporary_failure_backs_off_and_is_retried(smtp_sink):
    smtp_sink.handler.rcpt_replies["later@example.com"] = "451 4.3.0 Try again later"
    row = queue_email(to="later@example.com", subject="Hi", text_body="x")
    before = timezone.now()

    result = email_queue_drain()

    row.refresh_from_db()
    assert (result.sent, result.retried) == (0, 1)
    assert row.status == EmailStatus.PENDING and row.retry_count == 1
    assert "451" in row.last_error
    assert row.scheduled_at >= before + timedelta(seconds=59)
    assert email_queue_drain().sent == 0  # not due yet
    assert smtp_sink.messages == []

    del smtp_sink.handler.rcpt_replies["later@example.com"]
    EmailQueue.objects.filter(pk=row.pk).update(scheduled_at=timezone.now())
    assert email_queue_drain().sent == 1
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT and row.retry_count == 1
    assert len(smtp_sink.messages) == 1


def test_temporary_failures_stop_at_the_retry_limit(smtp_sink, settings):
    settings.BLOOM_EMAIL_MAX_RETRIES = 3
    smtp_sink.handler.rcpt_replies["later@example.com"] = "451 4.3.0 Try again later"
    row = queue_email(to="later@example.com", subject="Hi", text_body="x")
    for _ in range(3):
        EmailQueue.objects.filter(pk=row.pk).update(scheduled_at=timezone.now())
        email_queue_drain()
    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED and row.retry_count == 3
    assert row.last_error.startswith("gave up after 3 attempts")
    assert not EmailSuppression.objects.exists()  # a soft failure never suppresses


def test_permanent_rejection_fails_at_once_and_suppresses(smtp_sink):
    smtp_sink.handler.rcpt_replies["nobody@example.com"] = "550 5.1.1 No such user"
    bad = queue_email(to="nobody@example.com", subject="Hi", text_body="x")
    good = queue_email(to="someone@example.com", subject="Hi", text_body="x")

    result = email_queue_drain()

    bad.refresh_from_db()
    good.refresh_from_db()
    assert (result.sent, result.failed) == (1, 1)
    assert bad.status == EmailStatus.FAILED and bad.retry_count == 1
    assert "550" in bad.last_error and "No such user" in bad.last_error
    assert good.status == EmailStatus.SENT
    suppression = EmailSuppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.scope) == ("nobody@example.com", "hard_bounce", "all")
    assert queue_email(to="nobody@example.com", subject="Again", text_body="x") is None


def test_smtp_server_down_keeps_mail_pending(settings):
    from tests.notifications.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    rows = [queue_email(to=f"r{i}@example.com", subject="Hi", text_body="x") for i in range(5)]

    result = email_queue_drain()

    assert result.sent == 0 and result.stopped_early
    statuses = sorted(EmailQueue.objects.values_list("status", "retry_count"))
    # Two attempts hit the dead server and back off; the rest go back untouched.
    assert statuses.count((EmailStatus.PENDING, 1)) == 2
    assert statuses.count((EmailStatus.PENDING, 0)) == len(rows) - 2


def test_sweeper_reclaims_expired_leases(smtp_sink):
    row = queue_email(to="a@example.com", subject="Hi", text_body="x")
    EmailQueue.objects.filter(pk=row.pk).update(
        status=EmailStatus.SENDING, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh = queue_email(to="b@example.com", subject="Hi", text_body="x")
    EmailQueue.objects.filter(pk=fresh.pk).update(
        status=EmailStatus.SENDING, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )

    result = email_queue_sweep()

    assert result.reclaimed == 1 and result.due == 1
    assert EmailQueue.objects.get(pk=fresh.pk).status == EmailStatus.SENDING  # its worker is still on it
    assert email_queue_drain().sent == 1
    assert [m["To"] for m in smtp_sink.messages] == ["a@example.com"]


def test_drain_command_prints_a_summary(smtp_sink, capsys):
    for i in range(3):
        queue_email(to=f"r{i}@example.com", subject="Hi", text_body="x")
    call_command("drain_email_queue")
    out = capsys.readouterr().out
    assert "3 due" in out
    assert out.strip().splitlines()[-1] == "Drained the email queue: 3 sent, 0 to retry, 0 failed in 1 batch(es)."
    assert len(smtp_sink.messages) == 3
