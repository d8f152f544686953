"""The drain against a real SMTP server (aiosmtpd sink on loopback)."""

import pytest

from notifications.models import EmailStatus
from tests.notifications.conftest import free_port, point_smtp_at
from tests.notifications.helpers import attempts, three_rows

pytestmark = pytest.mark.django_db


def test_the_drain_task_does_not_hand_over_while_the_server_is_down(settings, monkeypatch):
    from notifications import tasks

    point_smtp_at(free_port(), settings, monkeypatch)
    three_rows()
    handed_over = []
    monkeypatch.setattr(tasks.email_queue_drain_task, "delay", lambda: handed_over.append(True))

    assert tasks.email_queue_drain_task.apply().get() == 0

    # Looping on a dead server would only spend every row's attempts; beat's sweeper wakes it again.
    assert handed_over == []
    assert attempts() == [(EmailStatus.PENDING, 0), (EmailStatus.PENDING, 1), (EmailStatus.PENDING, 1)]


def test_the_drain_task_hands_over_when_its_time_is_up(smtp_sink, settings, monkeypatch):
    from notifications import tasks

    settings.BLOOM_EMAIL_DRAIN_SECONDS = 0  # its budget is spent before it claims a row
    three_rows()
    handed_over = []
    monkeypatch.setattr(tasks.email_queue_drain_task, "delay", lambda: handed_over.append(True))

    assert tasks.email_queue_drain_task.apply().get() == 0

    assert handed_over == [True]
    assert attempts() == [(EmailStatus.PENDING, 0)] * 3
