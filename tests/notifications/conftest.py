"""An aiosmtpd SMTP sink on loopback, and settings that point Django (and workers) at it."""

from __future__ import annotations

import email
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    """Records every accepted message; `rcpt_replies` maps an address to the SMTP reply to RCPT TO."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.rcpt_replies: dict[str, str] = {}
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)  # a slow server, so a test can kill a worker mid-drain
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message["Message-ID"] for message in self.messages]


class SmtpSink:
    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        return self.handler.messages

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.handler.messages) < count:
            time.sleep(0.05)


@pytest.fixture
def smtp_sink(settings, monkeypatch):
    """The sink, with this process's settings and any worker started afterwards sending to it."""
    sink = SmtpSink()
    sink.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    monkeypatch.setenv("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(sink.port))
    try:
        yield sink
    finally:
        sink.controller.stop()


@pytest.fixture
def marketing_consent_for_all():
    """Non-user addresses consent to marketing (as content's subscriber lookup would say)."""
    from notifications import registry

    def lookup(*, email: str) -> bool:
        return not email.startswith("noconsent")

    registry.register_marketing_consent_lookup(lookup)
    yield
    registry._consent_lookups.remove(lookup)
