"""The drain through every Django email backend Bloom ships settings for, in this process.

console and file (development), locmem (tests), Django's SMTP backend (the prebuilt-bytes fast
path, compared with what Django itself sends), a subclass of it (no fast path), and anymail's
Postmark backend against Postmark's API faked on loopback, with Postmark's error answers.
"""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from notifications.drain import email_queue_drain, outbox_message
from notifications.models import EmailQueue, EmailStatus, EmailSuppression
from notifications.services import email_enqueue
from notifications.tasks import email_queue_drain_task

from . import esp_fakes

pytestmark = pytest.mark.django_db

SEPARATOR = "-" * 79


@pytest.fixture
def newsletter(marketing_consent_for_all) -> EmailQueue:
    """Marketing mail, so it carries every header Bloom adds (Message-ID and the unsubscribe pair)."""
    return email_enqueue(
        to="ada@example.com",
        subject="Spring workshops — book a place",
        text_body="Book a place: https://bloom.example/workshops/spring/\n",
        html_body='<p><a href="https://bloom.example/workshops/spring/">Book a place</a> — see you soon</p>',
        category="marketing",
    )


def parse(data: bytes | str) -> email.message.EmailMessage:
    if isinstance(data, str):
        data = data.encode()
    return email.message_from_bytes(data, policy=policy.default)


def _text(message, subtype: str) -> str:
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n")


def assert_is_the_queued_email(message: email.message.EmailMessage, row: EmailQueue) -> None:
    """`message` says what the row says: its headers (all but Date, which is stamped on sending) and bodies."""
    stored = parse(row.mime_message)
    for name in ("Subject", "From", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"):
        assert str(message[name]).strip() == str(stored[name]).strip(), name
    assert message.get_content_type() == stored.get_content_type() == "multipart/alternative"
    assert message["Date"] is not None
    assert str(message["Message-ID"]) == row.message_id
    assert str(message["List-Unsubscribe"]).strip().startswith("<http://")
    assert str(message["List-Unsubscribe-Post"]).strip() == "List-Unsubscribe=One-Click"
    assert _text(message, "plain") == row.text_body
    assert _text(message, "html").rstrip("\n") == row.html_body.rstrip("\n")


def assert_sent(row: EmailQueue, *, message_id: str | None = None) -> None:
    row.refresh_from_db()
    assert (row.status, row.retry_count, row.last_error) == (EmailStatus.SENT, 0, "")
    assert row.sent_at is not None and row.lease_expires_at is None
    assert row.message_id == (message_id or row.headers["Message-ID"])


def test_console_backend_prints_the_whole_message(settings, capsys, newsletter):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    result = email_queue_drain()

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    printed, rest = capsys.readouterr().out.split(SEPARATOR, 1)
    assert rest.strip() == ""
    assert_is_the_queued_email(parse(printed), newsletter)
    assert "Book a place: https://bloom.example/workshops/spring/" in printed  # readable as printed
    assert_sent(newsletter)


def test_file_backend_writes_the_message_under_email_file_path(settings, tmp_path, newsletter):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    second = email_enqueue(to="bo@example.com", subject="Receipt", text_body="Thank you\n")

    assert email_queue_drain().sent == 2

    (written,) = Path(settings.EMAIL_FILE_PATH).iterdir()  # one file per drain, as the backend does
    first_text, second_text, rest = written.read_text().split(SEPARATOR)
    assert rest.strip() == ""
    assert_is_the_queued_email(parse(first_text.strip("\n")), newsletter)
    receipt = parse(second_text.strip("\n"))
    assert (str(receipt["To"]), str(receipt["Message-ID"])) == ("bo@example.com", second.message_id)
    assert_sent(newsletter)
    assert_sent(second)


def test_locmem_backend_keeps_a_real_message_with_the_stored_headers(newsletter):
    assert email_queue_drain_task.apply().get() == 1  # the worker's task, run in this process

    (kept,) = mail.outbox
    assert type(kept) is EmailMultiAlternatives
    assert (kept.subject, kept.body, kept.to) == (newsletter.subject, newsletter.text_body, ["ada@example.com"])
    assert [tuple(alternative) for alternative in kept.alternatives] == [(newsletter.html_body, "text/html")]
    assert kept.extra_headers == newsletter.headers
    assert_is_the_queued_email(parse(kept.message().as_bytes()), newsletter)
    assert_sent(newsletter)


def test_smtp_fast_path_sends_what_djangos_own_smtp_backend_would(smtp_sink, monkeypatch, newsletter):
    def not_on_the_fast_path(self, messages):
        raise AssertionError("Django's SMTP backend should get the stored bytes, not send_messages()")

    with monkeypatch.context() as patch:
        patch.setattr(SMTPBackend, "send_messages", not_on_the_fast_path)
        assert email_queue_drain().sent == 1
    # The same row sent by Django itself, the way every other backend gets it.
    assert get_connection().send_messages([outbox_message(newsletter)]) == 1

    smtp_sink.wait_for(2)
    fast, django = (parse(raw) for raw in smtp_sink.handler.raw)
    assert_is_the_queued_email(fast, newsletter)
    assert_is_the_queued_email(django, newsletter)
    names = {name for name in fast if name != "Date"}
    assert names == {name for name in django if name != "Date"}
    assert {name: str(fast[name]) for name in names if name != "Content-Type"} == {
        name: str(django[name]) for name in names if name != "Content-Type"
    }  # Content-Type differs only by its random boundary
    assert smtp_sink.handler.envelopes[0] == smtp_sink.handler.envelopes[1]
    assert smtp_sink.handler.envelopes[0] == ("hello@bloompsychology.example", ["ada@example.com"])
    assert_sent(newsletter)


class RecordingSMTPBackend(SMTPBackend):
    """A project's own SMTP subclass: it may change what is sent, so it gets real messages."""

    handed: list = []

    def send_messages(self, email_messages):
        RecordingSMTPBackend.handed.extend(email_messages)
        return super().send_messages(email_messages)


def test_an_smtp_subclass_is_handed_real_messages(smtp_sink, settings, newsletter):
    settings.EMAIL_BACKEND = f"{__name__}.RecordingSMTPBackend"
    RecordingSMTPBackend.handed.clear()

    assert email_queue_drain().sent == 1

    (handed,) = RecordingSMTPBackend.handed
    assert type(handed) is EmailMultiAlternatives and handed.extra_headers == newsletter.headers
    smtp_sink.wait_for(1)
    assert_is_the_queued_email(parse(smtp_sink.handler.raw[0]), newsletter)
    assert_sent(newsletter)


# --- anymail: Postmark's API faked at the HTTP boundary -------------------------------------------


def test_postmark_gets_the_email_and_its_message_id_is_recorded(fake_postmark, newsletter):
    result = email_queue_drain()

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    (request,) = fake_postmark.requests
    assert request["_path"] == "/email" and request["_server_token"] == esp_fakes.SERVER_TOKEN
    assert (request["To"], request["Subject"]) == ("ada@example.com", newsletter.subject)
    assert request["From"] == "Bloom Psychology <hello@bloompsychology.example>"
    assert (request["TextBody"], request["HtmlBody"]) == (newsletter.text_body, newsletter.html_body)
    headers = {header["Name"]: header["Value"] for header in request["Headers"]}
    assert headers == newsletter.headers  # Message-ID, List-Unsubscribe, List-Unsubscribe-Post
    # Postmark's own id is what its delivery webhooks will name, so it is the one recorded.
    newsletter.refresh_from_db()
    assert (newsletter.status, newsletter.message_id) == (EmailStatus.SENT, request["_answered_id"])


def test_postmark_inactive_recipient_fails_at_once_and_suppresses(fake_postmark):
    gone = email_enqueue(to="gone@example.com", subject="Receipt", text_body="x")
    fake_postmark.answer = lambda request: esp_fakes.inactive_recipient(request["To"])

    result = email_queue_drain()

    gone.refresh_from_db()
    assert (result.failed, gone.status, gone.retry_count) == (1, EmailStatus.FAILED, 1)
    assert gone.last_error.startswith("recipient refused")
    suppression = EmailSuppression.objects.get()
    assert (suppression.email, suppression.reason) == ("gone@example.com", "hard_bounce")


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (esp_fakes.SERVER_ERROR, "Postmark API response 500"),
        (esp_fakes.RATE_LIMITED, "Postmark API response 429"),
        (esp_fakes.BAD_TOKEN, "Postmark API response 401"),
        (esp_fakes.MALFORMED, "Invalid JSON in Postmark API response"),
    ],
    ids=["5xx", "429", "401", "malformed"],
)
def test_postmark_trouble_keeps_the_email_for_a_later_attempt(fake_postmark, answer, shown):
    row = email_enqueue(to="ada@example.com", subject="Receipt", text_body="x")
    fake_postmark.answer = lambda request: answer

    result = email_queue_drain()

    row.refresh_from_db()
    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    assert (row.status, row.retry_count) == (EmailStatus.PENDING, 1)
    assert shown in row.last_error
    assert not EmailSuppression.objects.exists()


@pytest.mark.parametrize("trouble", ["timeout", "refused"])
def test_postmark_out_of_reach_keeps_the_mail_and_stops_the_batch(fake_postmark, trouble):
    for i in range(4):
        email_enqueue(to=f"r{i}@example.com", subject="Hi", text_body="x")
    if trouble == "timeout":
        fake_postmark.delay = 2.0  # longer than REQUESTS_TIMEOUT (1 s)
    else:
        fake_postmark.stop()  # nothing listens there any more

    result = email_queue_drain()

    assert (result.sent, result.retried, result.stopped_early, result.transport_down) == (0, 2, True, True)
    statuses = sorted(EmailQueue.objects.values_list("status", "retry_count"))
    assert statuses == [("pending", 0), ("pending", 0), ("pending", 1), ("pending", 1)]
    shown = "Read timed out" if trouble == "timeout" else "Connection refused"
    assert all(shown in row.last_error for row in EmailQueue.objects.filter(retry_count=1))


def test_an_anymail_error_raised_before_any_call_keeps_the_connection():
    from anymail.exceptions import AnymailInvalidAddress

    from notifications.drain import classify

    failure = classify(AnymailInvalidAddress("Invalid email address 'ada@'"))

    assert (failure.permanent, failure.connection_broken, failure.hard_bounce) == (False, False, False)
    assert failure.reason == "provider error: Invalid email address 'ada@'"
