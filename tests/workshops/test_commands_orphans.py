import pytest

from bloom.orphans import orphan_checks
from tests.factories.workshops import (
    WorkshopAttendanceFactory,
    WorkshopFactory,
    WorkshopRegistrationFactory,
    WorkshopWaitlistEntryFactory,
)
from workshops.models import RegistrationStatus, WaitlistStatus, WorkshopStatus

pytestmark = pytest.mark.django_db


def _check(name_start):
    return next(check for label, check in orphan_checks() if label == "workshops" and check.name.startswith(name_start))


def test_active_registrations_of_archived_or_cancelled_workshops_are_found_and_cancelled():
    archived = WorkshopRegistrationFactory()
    archived.workshop.archive()
    cancelled = WorkshopRegistrationFactory(workshop=WorkshopFactory(status=WorkshopStatus.CANCELLED))
    healthy = WorkshopRegistrationFactory()
    check = _check("active workshop registrations")
    assert set(check.find().values_list("pk", flat=True)) == {archived.pk, cancelled.pk}
    assert check.fix(check.find()) == 2
    healthy.refresh_from_db()
    assert healthy.status == RegistrationStatus.REGISTERED
    assert not check.find().exists()


def test_open_waitlist_of_cancelled_workshop_is_closed():
    entry = WorkshopWaitlistEntryFactory(workshop=WorkshopFactory(status=WorkshopStatus.CANCELLED))
    WorkshopWaitlistEntryFactory()
    check = _check("open waitlist entries")
    assert list(check.find()) == [entry]
    check.fix(check.find())
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.CANCELLED


def test_attendance_without_registration_is_linked():
    attendance = WorkshopAttendanceFactory(
        registration=None, workshop=WorkshopFactory(), user=WorkshopRegistrationFactory().user
    )
    registration = WorkshopRegistrationFactory(workshop=attendance.workshop, user=attendance.user)
    check = _check("workshop attendance")
    assert list(check.find()) == [attendance]
    assert check.fix(check.find()) == 1
    attendance.refresh_from_db()
    assert attendance.registration == registration
