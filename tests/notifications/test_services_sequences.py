from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.defaults import welcome_sequence_ensure
from notifications.models import EmailAutomationLog, EmailQueue, EmailSequenceEnrollment
from notifications.registry import _stop_checks, register_sequence_stop_check
from notifications.services import (
    enrollment_pause,
    marketing_unsubscribe,
    sequence_enrollments_advance,
    sequence_trigger,
)
from tests.factories.notifications import EmailSequenceFactory, SequenceEmailFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence():
    sequence = EmailSequenceFactory(
        trigger="course_enrolled", stop_conditions=["unsubscribed", "suppressed", "purchased"]
    )
    SequenceEmailFactory(sequence=sequence, position=1, delay=timedelta(0), subject="Day 0")
    SequenceEmailFactory(sequence=sequence, position=2, delay=timedelta(days=2), subject="Day 2")
    return sequence


def _events(enrollment):
    return list(
        EmailAutomationLog.objects.filter(enrollment=enrollment).order_by("created_at").values_list("event", flat=True)
    )


def test_trigger_enrolls_once_and_queues_the_first_step_at_once(sequence):
    sequence_trigger(trigger="course_enrolled", email="Ada@example.com", context={"course": "Calm"})
    sequence_trigger(trigger="course_enrolled", email="ada@example.com")

    enrollment = EmailSequenceEnrollment.objects.get()
    assert (enrollment.email, enrollment.current_step, enrollment.status) == ("ada@example.com", 1, "active")
    assert enrollment.next_due_at == enrollment.started_at + timedelta(days=2)
    assert list(EmailQueue.objects.values_list("subject", flat=True)) == ["Day 0"]
    assert _events(enrollment) == ["queued"]


def test_beat_advances_due_steps_and_completes(sequence):
    sequence_trigger(trigger="course_enrolled", email="ada@example.com")
    assert sequence_enrollments_advance() == 0  # step 2 is not due yet

    assert sequence_enrollments_advance(now=timezone.now() + timedelta(days=2, minutes=1)) == 1

    enrollment = EmailSequenceEnrollment.objects.get()
    assert (enrollment.status, enrollment.current_step, enrollment.next_due_at) == ("completed", 2, None)
    assert sorted(EmailQueue.objects.values_list("subject", flat=True)) == ["Day 0", "Day 2"]
    assert _events(enrollment) == ["queued", "queued", "completed"]


def test_unsubscribe_stops_a_marketing_sequence(sequence):
    sequence.category = "marketing"
    sequence.save()
    register_sequence_stop_check("never", lambda **kwargs: False)
    try:
        from notifications.registry import register_marketing_consent_lookup, unregister_marketing_consent_lookup

        lookup = lambda *, email: True  # noqa: E731
        register_marketing_consent_lookup(lookup)
        sequence_trigger(trigger="course_enrolled", email="ada@example.com")
        marketing_unsubscribe(email="ada@example.com")
        sequence_enrollments_advance(now=timezone.now() + timedelta(days=3))
    finally:
        unregister_marketing_consent_lookup(lookup)
        _stop_checks.pop("never")

    enrollment = EmailSequenceEnrollment.objects.get()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "unsubscribed")
    assert EmailQueue.objects.filter(subject="Day 2").count() == 0


def test_registered_stop_check_ends_the_sequence(sequence, monkeypatch):
    # monkeypatch restores the check courses registers for "purchased" afterwards.
    monkeypatch.setitem(_stop_checks, "purchased", lambda *, email, **kwargs: email == "buyer@example.com")
    sequence_trigger(trigger="course_enrolled", email="buyer@example.com")
    sequence_enrollments_advance(now=timezone.now() + timedelta(days=3))

    enrollment = EmailSequenceEnrollment.objects.get()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "purchased")
    assert not EmailQueue.objects.exists()  # checked before every step, the first one too
    assert _events(enrollment) == ["stopped"]


def test_refused_step_is_logged_as_skipped_with_reason():
    sequence = welcome_sequence_ensure()
    assert sequence.category == "marketing"

    sequence_trigger(trigger="member_signed_up", email="noconsent@example.com")

    log = EmailAutomationLog.objects.get(event="skipped")
    assert "has not consented to marketing" in log.reason
    assert not EmailQueue.objects.exists()


def test_paused_recipient_and_paused_sequence_get_nothing(sequence):
    sequence_trigger(trigger="course_enrolled", email="ada@example.com")
    sequence_trigger(trigger="course_enrolled", email="bo@example.com")
    ada = EmailSequenceEnrollment.objects.get(email="ada@example.com")
    enrollment_pause(enrollment=ada)

    later = timezone.now() + timedelta(days=3)
    assert sequence_enrollments_advance(now=later) == 1  # only bo

    sequence.status = "paused"
    sequence.save()
    sequence_trigger(trigger="course_enrolled", email="cy@example.com")
    assert not EmailSequenceEnrollment.objects.filter(email="cy@example.com").exists()
    ada.refresh_from_db()
    assert ada.status == "paused" and ada.current_step == 1


def test_drain_logs_sent_for_sequence_mail(sequence):
    from notifications.drain import email_queue_drain

    sequence_trigger(trigger="course_enrolled", email="ada@example.com")
    email_queue_drain()

    enrollment = EmailSequenceEnrollment.objects.get()
    assert _events(enrollment) == ["queued", "sent"]
    sent = EmailAutomationLog.objects.get(event="sent")
    assert sent.queued_email.status == "sent" and sent.step.position == 1


def test_orphan_check_stops_enrollments_of_archived_sequences(sequence):
    from notifications.orphans import CHECKS

    sequence_trigger(trigger="course_enrolled", email="ada@example.com")
    sequence.archive()
    check = CHECKS[0]
    assert check.find().count() == 1
    assert check.fix(check.find()) == 1
    assert EmailSequenceEnrollment.objects.get().status == "stopped"


def test_suppressed_address_stops_the_sequence(sequence):
    from notifications.services import suppression_add

    sequence_trigger(trigger="course_enrolled", email="ada@example.com")
    suppression_add(email="ada@example.com", reason="hard_bounce")
    sequence_enrollments_advance(now=timezone.now() + timedelta(days=3))

    enrollment = EmailSequenceEnrollment.objects.get()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "suppressed")
    assert list(EmailQueue.objects.values_list("subject", flat=True)) == ["Day 0"]
    assert _events(enrollment) == ["queued", "stopped"]
    assert EmailAutomationLog.objects.get(event="stopped").reason == "suppressed"


def test_deleted_account_stops_the_sequence(sequence):
    from tests.factories.accounts import UserFactory

    sequence.stop_conditions = [*sequence.stop_conditions, "account_deleted"]
    sequence.save()
    member = UserFactory(email="member@example.com")
    sequence_trigger(trigger="course_enrolled", email=member.email, user=member)
    member.is_active = False  # what account deletion leaves behind
    member.save()

    sequence_enrollments_advance(now=timezone.now() + timedelta(days=3))

    enrollment = EmailSequenceEnrollment.objects.get()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "account_deleted")
    assert EmailQueue.objects.filter(subject="Day 2").count() == 0
