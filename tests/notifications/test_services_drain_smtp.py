"""The drain against a real SMTP server (aiosmtpd sink on loopback)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.drain import email_queue_drain
from notifications.models import EmailQueue, EmailStatus, EmailSuppression
from notifications.services import email_enqueue, email_queue_sweep
from tests.notifications.conftest import free_port, point_smtp_at
from tests.notifications.helpers import attempts, three_rows

pytestmark = pytest.mark.django_db


def test_drain_delivers_over_smtp_with_message_id_and_date(smtp_sink):
    row = email_enqueue(to="ada@example.com", template="notifications/notice", context={"title": "Hello"})

    assert email_queue_drain().sent == 1

    (received,) = smtp_sink.messages
    assert received["Message-ID"] == row.message_id
    assert received["Date"] is not None
    assert received["Subject"] == "Hello"
    assert received.is_multipart()  # text and HTML alternatives


def test_temporary_failure_backs_off_and_is_retried(smtp_sink):
    smtp_sink.handler.rcpt_replies["later@example.com"] = "451 4.3.0 Try again later"
    row = email_enqueue(to="later@example.com", subject="Hi", text_body="x")
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
    row = email_enqueue(to="later@example.com", subject="Hi", text_body="x")
    for _ in range(3):
        EmailQueue.objects.filter(pk=row.pk).update(scheduled_at=timezone.now())
        email_queue_drain()
    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED and row.retry_count == 3
    assert row.last_error.startswith("gave up after 3 attempts")
    assert not EmailSuppression.objects.exists()  # a soft failure never suppresses


def test_permanent_rejection_fails_at_once_and_suppresses(smtp_sink):
    smtp_sink.handler.rcpt_replies["nobody@example.com"] = "550 5.1.1 No such user"
    bad = email_enqueue(to="nobody@example.com", subject="Hi", text_body="x")
    good = email_enqueue(to="someone@example.com", subject="Hi", text_body="x")

    result = email_queue_drain()

    bad.refresh_from_db()
    good.refresh_from_db()
    assert (result.sent, result.failed) == (1, 1)
    assert bad.status == EmailStatus.FAILED and bad.retry_count == 1
    assert "550" in bad.last_error and "No such user" in bad.last_error
    assert good.status == EmailStatus.SENT
    suppression = EmailSuppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.scope) == ("nobody@example.com", "hard_bounce", "all")
    assert email_enqueue(to="nobody@example.com", subject="Again", text_body="x") is None


def test_smtp_server_down_keeps_mail_pending(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    rows = [email_enqueue(to=f"r{i}@example.com", subject="Hi", text_body="x") for i in range(5)]

    result = email_queue_drain()

    assert result.sent == 0 and result.stopped_early
    statuses = sorted(EmailQueue.objects.values_list("status", "retry_count"))
    # Two attempts hit the dead server and back off; the rest go back untouched.
    assert statuses.count((EmailStatus.PENDING, 1)) == 2
    assert statuses.count((EmailStatus.PENDING, 0)) == len(rows) - 2


def test_sweeper_reclaims_expired_leases(smtp_sink):
    row = email_enqueue(to="a@example.com", subject="Hi", text_body="x")
    EmailQueue.objects.filter(pk=row.pk).update(
        status=EmailStatus.SENDING, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh = email_enqueue(to="b@example.com", subject="Hi", text_body="x")
    EmailQueue.objects.filter(pk=fresh.pk).update(
        status=EmailStatus.SENDING, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )

    result = email_queue_sweep()

    assert result.reclaimed == 1 and result.due == 1
    assert EmailQueue.objects.get(pk=fresh.pk).status == EmailStatus.SENDING  # its worker is still on it
    assert email_queue_drain().sent == 1
    assert [m["To"] for m in smtp_sink.messages] == ["a@example.com"]


def test_a_server_that_never_answers_times_out_and_the_mail_waits(silent_smtp_port, settings, monkeypatch):
    point_smtp_at(silent_smtp_port, settings, monkeypatch, timeout=1)
    three_rows()

    result = email_queue_drain()

    assert (result.sent, result.retried, result.failed, result.transport_down) == (0, 2, 0, True)
    assert attempts() == [(EmailStatus.PENDING, 0), (EmailStatus.PENDING, 1), (EmailStatus.PENDING, 1)]
    # smtplib reports a read that timed out as the server having gone away.
    assert EmailQueue.objects.filter(retry_count=1).first().last_error == (
        "could not connect: SMTPServerDisconnected: Connection unexpectedly closed: timed out"
    )


def test_a_server_that_stops_answering_after_data_gets_the_mail_again_later(smtp_sink, settings):
    """The outcome is unknown (the server may have kept the message): the row waits and is sent
    again, so the member may get it twice but never not at all (docs/adr/0021)."""
    settings.EMAIL_TIMEOUT = 1
    smtp_sink.handler.delay = 3  # the server sits on its answer to the message's final "."
    row = email_enqueue(to="ada@example.com", subject="Hi", text_body="x")

    result = email_queue_drain()

    row.refresh_from_db()
    assert (result.sent, result.retried) == (0, 1)
    assert (row.status, row.retry_count) == (EmailStatus.PENDING, 1)
    assert row.last_error == "SMTPServerDisconnected: Connection unexpectedly closed: timed out"
    smtp_sink.wait_for(1, timeout=10)  # it did keep it, in the end
    smtp_sink.handler.delay = 0
    EmailQueue.objects.filter(pk=row.pk).update(scheduled_at=timezone.now())
    assert email_queue_drain().sent == 1
    smtp_sink.wait_for(2)
    assert smtp_sink.handler.message_ids() == [row.message_id, row.message_id]


@pytest.mark.parametrize(
    "greeting",
    ["421 4.3.2 Service not available, closing transmission channel", "554 5.7.1 No SMTP service here"],
    ids=["421", "554"],
)
def test_a_server_that_refuses_us_at_the_greeting_fails_no_email(scripted_smtp, settings, monkeypatch, greeting):
    scripted_smtp.greeting = greeting
    point_smtp_at(scripted_smtp.port, settings, monkeypatch)
    three_rows()

    result = email_queue_drain()

    assert (result.sent, result.retried, result.failed, result.transport_down) == (0, 2, 0, True)
    assert attempts() == [(EmailStatus.PENDING, 0), (EmailStatus.PENDING, 1), (EmailStatus.PENDING, 1)]
    assert EmailQueue.objects.filter(retry_count=1).first().last_error == (
        f"could not connect: SMTPConnectError: {greeting}"
    )
    assert not EmailSuppression.objects.exists()


def test_a_refused_login_fails_no_email(scripted_smtp, settings, monkeypatch):
    scripted_smtp.auth_reply = "535 5.7.8 Authentication credentials invalid"
    point_smtp_at(scripted_smtp.port, settings, monkeypatch)
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "bloom", "wrong"
    three_rows()

    result = email_queue_drain()

    assert (result.sent, result.retried, result.failed) == (0, 2, 0)
    assert "SMTPAuthenticationError: 535 5.7.8 Authentication credentials invalid" in (
        EmailQueue.objects.filter(retry_count=1).first().last_error
    )


def test_a_refused_sender_is_retried_not_failed(smtp_sink):
    smtp_sink.handler.mail_reply = "550 5.7.1 Sender address not allowed on this relay"
    row = email_enqueue(to="ada@example.com", subject="Hi", text_body="x")

    result = email_queue_drain()

    row.refresh_from_db()
    assert (result.retried, result.failed) == (1, 0)
    assert (row.status, row.retry_count) == (EmailStatus.PENDING, 1)
    assert row.last_error == "sender refused: 550 5.7.1 Sender address not allowed on this relay"
    assert not EmailSuppression.objects.exists()


def test_rejected_content_fails_that_email_without_suppressing_the_address(smtp_sink):
    smtp_sink.handler.data_reply = "554 5.7.1 Message rejected as spam"
    row = email_enqueue(to="ada@example.com", subject="Hi", text_body="x")

    result = email_queue_drain()

    row.refresh_from_db()
    assert (result.failed, row.status, row.retry_count) == (1, EmailStatus.FAILED, 1)
    assert row.last_error == "SMTPDataError: 554 5.7.1 Message rejected as spam"
    assert not EmailSuppression.objects.exists()


def test_a_421_mid_batch_reconnects_for_the_next_email(smtp_sink):
    smtp_sink.handler.rcpt_replies["busy@example.com"] = "421 4.7.0 Too many messages, closing connection"
    busy = email_enqueue(to="busy@example.com", subject="Hi", text_body="x")
    after = email_enqueue(to="after@example.com", subject="Hi", text_body="x")

    result = email_queue_drain()

    busy.refresh_from_db()
    after.refresh_from_db()
    assert (result.sent, result.retried, result.transport_down) == (1, 1, False)
    assert (busy.status, busy.retry_count) == (EmailStatus.PENDING, 1)
    assert "421" in busy.last_error
    assert after.status == EmailStatus.SENT
    assert [m["To"] for m in smtp_sink.messages] == ["after@example.com"]
