import pytest
from django.core.management import call_command

from notifications.models import EmailStatus
from notifications.services import (
    email_enqueue,
)
from tests.notifications.conftest import free_port, point_smtp_at
from tests.notifications.helpers import attempts, three_rows

pytestmark = pytest.mark.django_db


def test_drain_command_prints_a_summary(smtp_sink, capsys):
    for i in range(3):
        email_enqueue(to=f"r{i}@example.com", subject="Hi", text_body="x")
    call_command("drain_email_queue")
    out = capsys.readouterr().out
    assert "3 due" in out
    assert out.strip().splitlines()[-1] == "Drained the email queue: 3 sent, 0 to retry, 0 failed in 1 batch(es)."
    assert len(smtp_sink.messages) == 3


def test_drain_command_says_when_the_server_could_not_be_reached(settings, monkeypatch, capsys):
    point_smtp_at(free_port(), settings, monkeypatch)
    three_rows()

    call_command("drain_email_queue")

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("Stopped early: the mail server could not be reached")
    assert lines[-1] == "Drained the email queue: 0 sent, 2 to retry, 0 failed in 1 batch(es)."
    assert attempts() == [(EmailStatus.PENDING, 0), (EmailStatus.PENDING, 1), (EmailStatus.PENDING, 1)]
