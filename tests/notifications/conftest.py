"""SMTP and ESP servers on loopback for the drain, and settings that point Django (and workers) at them.

- `smtp_sink`: an aiosmtpd server that accepts mail (or answers RCPT/DATA as a test says);
- `silent_smtp_port`: a port that accepts TCP connections and never says a word (a timeout);
- `scripted_smtp`: a tiny server that answers the greeting and AUTH as a test says (421/554
  greetings, a refused login);
- `fake_postmark`: Postmark's HTTP API for anymail's Postmark backend (esp_fakes.py).
"""

from __future__ import annotations

import contextlib
import email
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from tests.waiting import WaitTimeout, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    """Records every accepted message; `rcpt_replies` maps an address to the SMTP reply to RCPT TO."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_replies: dict[str, str] = {}
        self.mail_reply = ""  # e.g. "550 5.7.1 Sender not allowed": refuse MAIL FROM
        self.data_reply = ""  # e.g. "554 5.7.1 Message rejected": refuse the content after DATA
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)  # a slow server, so a test can kill a worker mid-drain
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.raw.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message["Message-ID"] for message in self.messages]


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.handler = SinkHandler()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        return self.handler.messages

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Wait up to `timeout` for `count` messages; returns either way, and the test asserts what arrived."""
        with contextlib.suppress(WaitTimeout):
            wait_until(lambda: len(self.handler.messages) >= count, timeout=timeout, interval=0.05)


@pytest.fixture
def smtp_sink(settings, monkeypatch):
    """The sink, with this process's settings and any worker started afterwards sending to it."""
    sink = SmtpSink()
    sink.controller.start()
    point_smtp_at(sink.port, settings, monkeypatch)
    try:
        yield sink
    finally:
        sink.controller.stop()


def point_smtp_at(port: int, settings, monkeypatch, *, timeout: int | None = None) -> None:
    """Django's SMTP backend on 127.0.0.1:`port`, here and in any worker started afterwards."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    monkeypatch.setenv("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(port))
    if timeout is not None:
        settings.EMAIL_TIMEOUT = timeout
        monkeypatch.setenv("EMAIL_TIMEOUT", str(timeout))


@pytest.fixture
def silent_smtp_port():
    """A listening port that completes the TCP handshake and then never answers (no greeting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


class ScriptedSmtp:
    """Speaks just enough SMTP to fail the way a test asks: `greeting`, and `auth_reply` to AUTH."""

    def __init__(self) -> None:
        self.greeting = "220 fake.example ESMTP"
        self.auth_reply = "235 2.7.0 Authentication successful"
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(client,), daemon=True).start()

    def _talk(self, client: socket.socket) -> None:
        with client, client.makefile("rb") as lines:
            client.sendall(self.greeting.encode() + b"\r\n")
            if not self.greeting.startswith("220"):
                return
            for line in lines:
                command = line.decode(errors="replace").strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    client.sendall(b"250-fake.example\r\n250 AUTH PLAIN\r\n")
                elif command.startswith("AUTH"):
                    client.sendall(self.auth_reply.encode() + b"\r\n")
                elif command.startswith("QUIT"):
                    client.sendall(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    client.sendall(b"502 5.5.2 Not implemented here\r\n")

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted_smtp():
    server = ScriptedSmtp()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_postmark(settings):
    """anymail's Postmark backend is the transport, talking to a fake Postmark on loopback."""
    from .esp_fakes import SERVER_TOKEN, FakePostmark

    fake = FakePostmark()
    fake.start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_SERVER_TOKEN": SERVER_TOKEN,
        "POSTMARK_API_URL": fake.url,
        "REQUESTS_TIMEOUT": 1.0,
    }
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def marketing_consent_for_all():
    """Non-user addresses consent to marketing (as content's subscriber lookup would say)."""
    from notifications import registry

    def lookup(*, email: str) -> bool:
        return not email.startswith("noconsent")

    registry.register_marketing_consent_lookup(lookup)
    yield
    registry.unregister_marketing_consent_lookup(lookup)


@pytest.fixture
def campaign_email(marketing_consent_for_all):
    """One tracked marketing email of a campaign, to a consenting non-member address."""
    import uuid

    from notifications.services import email_enqueue

    return email_enqueue(
        to="reader@example.com",
        subject="News",
        text_body="x",
        html_body='<p><a href="https://bloom.example/blog/spring">Spring</a></p>',
        category="marketing",
        campaign_id=uuid.uuid4(),
    )


@pytest.fixture
def unsubscribed_calls():
    """Every call notifications makes to its registered unsubscribe handlers."""
    from notifications.registry import _unsubscribe_handlers, register_unsubscribe_handler

    calls = []

    def handler(*, email, reason):
        calls.append((email, reason))

    register_unsubscribe_handler(handler)
    yield calls
    _unsubscribe_handlers.remove(handler)
