"""A drain that stalled past its lease (a host whose network was cut) changes none of the rows
another drain claimed since: every write after the claim matches the claim's lease (docs/adr/0159)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import drain
from notifications.models import EmailQueue, EmailStatus
from notifications.services import email_enqueue, email_queue_sweep

pytestmark = pytest.mark.django_db


def _stalled_then_reclaimed():
    """Drain A claims two rows and stalls; their lease expires, the sweep hands them back, drain B claims them."""
    for to in ("a@example.com", "b@example.com"):
        email_enqueue(to=to, subject="Hi", text_body="x")
    claimed_by_a = drain._claim(10)
    assert len(claimed_by_a) == 2
    EmailQueue.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert email_queue_sweep().reclaimed == 2
    claimed_by_b = drain._claim(10)
    assert {row.pk for row in claimed_by_b} == {row.pk for row in claimed_by_a}
    return claimed_by_a, claimed_by_b


def _still_claimed_by(rows):
    leases = {row.pk: row.lease_expires_at for row in rows}
    stored = EmailQueue.objects.filter(pk__in=leases)
    return all(row.status == EmailStatus.SENDING and row.lease_expires_at == leases[row.pk] for row in stored)


def test_a_stalled_drain_cannot_hand_back_rows_another_drain_claimed():
    claimed_by_a, claimed_by_b = _stalled_then_reclaimed()

    drain._release(claimed_by_a)  # A comes back, past its lease deadline, and hands back its batch

    assert _still_claimed_by(claimed_by_b)  # else a third drain would send what B is sending


def test_a_stalled_drains_failure_does_not_requeue_a_row_another_drain_claimed():
    claimed_by_a, claimed_by_b = _stalled_then_reclaimed()

    outcome = drain._record_failure(claimed_by_a[0], drain.Failure(permanent=False, reason="timed out"))

    assert outcome == "retried"  # what A believes; the row is B's now
    assert _still_claimed_by(claimed_by_b)
    assert EmailQueue.objects.get(pk=claimed_by_a[0].pk).retry_count == 0


def test_a_stalled_drains_sent_mark_does_not_end_another_drains_claim():
    claimed_by_a, claimed_by_b = _stalled_then_reclaimed()
    marker = drain._SentMarker()

    drain._record_sent(claimed_by_a[0], claimed_by_a[0].message_id, marker)
    marker.wait()

    assert _still_claimed_by(claimed_by_b)


def test_the_drain_that_holds_the_claim_still_records_its_outcomes():
    _claimed_by_a, claimed_by_b = _stalled_then_reclaimed()
    sent, released = claimed_by_b
    marker = drain._SentMarker()

    drain._record_sent(sent, sent.message_id, marker)
    marker.wait()
    drain._release([released])

    assert EmailQueue.objects.get(pk=sent.pk).status == EmailStatus.SENT
    assert EmailQueue.objects.get(pk=released.pk).status == EmailStatus.PENDING
