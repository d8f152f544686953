"""A reminder's .ics attachment through the outbox drain and every email backend Bloom ships
settings for: console (`make run`), file, locmem (tests), Django's SMTP backend (the stored-bytes
fast path) and a subclass of it (rebuilt messages), against a local SMTP server, and anymail's
Postmark backend against Postmark faked on loopback."""

from __future__ import annotations

import base64
import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone

from appointments import reminders
from notifications.drain import email_queue_drain
from notifications.models import EmailQueue, EmailStatus
from tests.factories.appointments import AppointmentDataFactory
from tests.notifications import conftest as mail_servers
from tests.notifications import esp_fakes

pytestmark = pytest.mark.django_db

SEPARATOR = "-" * 79


@pytest.fixture
def reminder() -> EmailQueue:
    """A 2h reminder queued for a member in London, with its .ics attached."""
    starts_at = (timezone.now() + timedelta(minutes=90)).replace(microsecond=0)
    appointment = AppointmentDataFactory(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50))
    appointment.user.profile.timezone = "Europe/London"
    appointment.user.profile.save(update_fields=["timezone"])
    assert reminders.appointment_reminders_send() == 1
    row = EmailQueue.objects.get()
    row.appointment = appointment
    return row


@pytest.fixture
def sink(settings, monkeypatch):
    server = mail_servers.SmtpSink()
    server.controller.start()
    mail_servers.point_smtp_at(server.port, settings, monkeypatch)
    try:
        yield server
    finally:
        server.controller.stop()


def _parse(data: bytes | str) -> email.message.EmailMessage:
    return email.message_from_bytes(data.encode() if isinstance(data, str) else data, policy=policy.default)


def assert_carries_the_reminder(message: email.message.EmailMessage, row: EmailQueue) -> None:
    """The delivered message has the row's headers, both bodies and the session's .ics in her zone."""
    assert message.get_content_type() == "multipart/mixed"
    assert str(message["Message-ID"]) == row.message_id
    assert str(message["Subject"]) == row.subject
    assert row.appointment.zoom_meeting_url in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)) is not None
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "bloom-session.ics"
    assert attachment.get_content_type() == "text/calendar"
    ics = attachment.get_content()
    assert f"UID:appointment-{row.appointment.pk}" in ics
    assert "TZID:Europe/London" in ics


def assert_sent(row: EmailQueue) -> None:
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT and row.last_error == ""


def test_console_backend_prints_the_reminder_with_its_attachment(settings, capsys, reminder):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    result = email_queue_drain()

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    printed, rest = capsys.readouterr().out.split(SEPARATOR, 1)
    assert rest.strip() == ""
    assert_carries_the_reminder(_parse(printed), reminder)
    assert_sent(reminder)


def test_file_backend_writes_the_reminder_with_its_attachment(settings, tmp_path, reminder):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")

    assert email_queue_drain().sent == 1

    (written,) = Path(settings.EMAIL_FILE_PATH).iterdir()
    assert_carries_the_reminder(_parse(written.read_text().split(SEPARATOR)[0].strip("\n")), reminder)


def test_locmem_backend_gets_the_attachment_as_a_django_attachment(reminder):
    assert email_queue_drain().sent == 1

    (kept,) = mail.outbox
    ((filename, content, mimetype),) = kept.attachments
    assert (filename, mimetype) == ("bloom-session.ics", "text/calendar")
    assert "BEGIN:VCALENDAR" in content
    assert_carries_the_reminder(_parse(kept.message().as_bytes()), reminder)


def test_smtp_fast_path_sends_the_stored_message_with_its_attachment(sink, monkeypatch, reminder):
    def not_on_the_fast_path(self, messages):
        raise AssertionError("Django's SMTP backend should get the stored bytes")

    monkeypatch.setattr(SMTPBackend, "send_messages", not_on_the_fast_path)
    assert email_queue_drain().sent == 1

    sink.wait_for(1)
    assert_carries_the_reminder(_parse(sink.handler.raw[0]), reminder)
    assert sink.handler.envelopes[0][1] == [reminder.to_email]
    assert_sent(reminder)


class PlainSMTPSubclass(SMTPBackend):
    """A project's own SMTP backend: no fast path, it is handed rebuilt messages."""


def test_an_smtp_subclass_gets_the_rebuilt_message_with_its_attachment(sink, settings, reminder):
    settings.EMAIL_BACKEND = f"{__name__}.PlainSMTPSubclass"

    assert email_queue_drain().sent == 1

    sink.wait_for(1)
    assert_carries_the_reminder(_parse(sink.handler.raw[0]), reminder)


def test_postmark_gets_the_attachment(settings, reminder):
    fake = esp_fakes.FakePostmark()
    fake.start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_SERVER_TOKEN": esp_fakes.SERVER_TOKEN,
        "POSTMARK_API_URL": fake.url,
        "REQUESTS_TIMEOUT": 1.0,
    }
    try:
        assert email_queue_drain().sent == 1
    finally:
        fake.stop()

    (request,) = fake.requests
    (attachment,) = request["Attachments"]
    assert attachment["Name"] == "bloom-session.ics"
    assert attachment["ContentType"].startswith("text/calendar")
    assert f"UID:appointment-{reminder.appointment.pk}" in base64.b64decode(attachment["Content"]).decode()
    assert_sent(reminder)


def test_mail_without_attachments_is_not_parsed_and_has_none(settings):
    from notifications.drain import outbox_message
    from notifications.services import email_enqueue

    row = email_enqueue(to="ada@example.com", subject="Receipt", text_body="Thank you\n")
    assert outbox_message(row).attachments == []
