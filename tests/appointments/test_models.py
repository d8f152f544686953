"""Schema rules the database enforces, factories, demo data and orphan checks."""

from datetime import time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from appointments import demo, orphans
from appointments.models import AppointmentData, AppointmentStatus, TherapistAvailability, TherapistProfile
from tests.factories.accounts import UserFactory
from tests.factories.appointments import (
    AppointmentDataFactory,
    AppointmentPaymentFactory,
    AppointmentReminderLogFactory,
    SessionNoteFactory,
    TherapistAvailabilityFactory,
)

pytestmark = pytest.mark.django_db


def test_availability_must_end_after_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        TherapistAvailabilityFactory(start_time=time(13), end_time=time(9))
    assert not TherapistAvailability.objects.exists()


def test_reminder_log_is_unique_per_kind_and_channel():
    log = AppointmentReminderLogFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentReminderLogFactory(appointment=log.appointment, kind=log.kind, channel=log.channel)
    AppointmentReminderLogFactory(appointment=log.appointment, kind=log.kind, channel="email")


def test_status_check_constraint():
    appointment = AppointmentDataFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentData.objects.filter(pk=appointment.pk).update(status="lost")


def test_only_one_live_session_fee_per_appointment():
    payment = AppointmentPaymentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentPaymentFactory(appointment=payment.appointment)
    AppointmentPaymentFactory(appointment=payment.appointment, status="failed")


def test_seed_columns_and_index_in_the_catalog():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'appointment_data'"
        )
        columns = {name: (kind, nullable) for name, kind, nullable in cursor.fetchall()}
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_appointment_payments_created_at'")
        (indexdef,) = cursor.fetchone()
    assert columns["session_notes_id"] == ("uuid", "YES")
    assert columns["therapist_id"] == ("uuid", "YES")
    assert columns["zoom_meeting_url"] == ("text", "YES")
    assert "(created_at DESC)" in indexdef


def test_archived_therapists_are_hidden_but_keep_their_bookings():
    appointment = AppointmentDataFactory()
    appointment.therapist.archive()
    assert not TherapistProfile.objects.filter(pk=appointment.therapist_id).exists()
    assert AppointmentData.objects.get().therapist.is_archived


def test_demo_seed_is_idempotent_and_books_the_demo_member():
    UserFactory(email="member@bloom.test")
    for _ in range(2):
        demo.seed(stdout=StringIO())
    assert TherapistProfile.objects.count() == 3  # two taking clients, one not (the team page shows both kinds)
    assert TherapistAvailability.objects.count() == 6  # the weekly hours of all three
    appointment = AppointmentData.objects.get(calendly_invitee_uri__endswith="/DEMO-INVITEE-1")  # the upcoming one
    assert appointment.user.email == "member@bloom.test"
    assert appointment.starts_at > timezone.now()


def test_demo_seed_without_demo_member_books_nothing():
    demo.seed(stdout=StringIO())
    assert TherapistProfile.objects.count() == 3  # two taking clients, one not (the team page shows both kinds)
    assert not AppointmentData.objects.exists()


def _check(name):
    return next(check for check in orphans.CHECKS if check.name.startswith(name))


def test_orphan_check_links_bookings_to_members_who_signed_up_later():
    booking = AppointmentDataFactory(user=None, invitee_email="later@example.com")
    AppointmentDataFactory(user=None, invitee_email="nobody@example.com")
    check = _check("bookings whose invitee email")
    assert list(check.find()) == []
    member = UserFactory(email="later@example.com")
    assert [a.pk for a in check.find()] == [booking.pk]
    assert check.fix(check.find()) == 1
    booking.refresh_from_db()
    assert booking.user == member
    assert list(check.find()) == []


def test_orphan_checks_for_note_links_and_archived_availability():
    note = SessionNoteFactory()
    assert list(_check("session notes their appointment").find()) == []
    AppointmentData.objects.filter(pk=note.appointment_id).update(session_notes=None)
    unlinked = _check("session notes their appointment")
    assert unlinked.fix(unlinked.find()) == 1
    assert AppointmentData.objects.get(pk=note.appointment_id).session_notes_id == note.pk

    other = AppointmentDataFactory(status=AppointmentStatus.COMPLETED)
    AppointmentData.objects.filter(pk=note.appointment_id).update(session_notes=None)
    AppointmentData.objects.filter(pk=other.pk).update(session_notes=note)  # points at a note not its own
    stale = _check("appointment_data.session_notes_id")
    assert [a.pk for a in stale.find()] == [other.pk]
    assert stale.fix(stale.find()) == 1
    assert list(stale.find()) == []
    assert unlinked.fix(unlinked.find()) == 1
    assert AppointmentData.objects.get(pk=note.appointment_id).session_notes_id == note.pk

    availability = TherapistAvailabilityFactory()
    availability.therapist.archive()
    check = _check("availability of archived")
    assert check.fix(check.find()) == 1


def test_upcoming_and_past_querysets():
    now = timezone.now()
    soon = AppointmentDataFactory(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    running = AppointmentDataFactory(starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(minutes=40))
    AppointmentDataFactory(starts_at=now - timedelta(days=1), ends_at=now - timedelta(days=1) + timedelta(hours=1))
    assert set(AppointmentData.objects.upcoming(now=now).values_list("pk", flat=True)) == {soon.pk, running.pk}
    assert AppointmentData.objects.past(now=now).count() == 1
    assert Decimal("0") <= AppointmentPaymentFactory().amount
