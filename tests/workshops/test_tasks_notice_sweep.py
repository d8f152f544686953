"""Registration notices whose task Redis lost are sent by the sweeper, once (issue 10 point 8)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import EmailQueue, UserNotification
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory, WorkshopWaitlistEntryFactory
from workshops import selectors
from workshops.models import PaymentStatus, RegistrationStatus, WaitlistStatus, WorkshopRegistration
from workshops.tasks import registration_notices_sweep_task

pytestmark = pytest.mark.django_db

GRACE, WITHIN = timedelta(minutes=2), timedelta(days=2)


def _aged(registration, age: timedelta):
    WorkshopRegistration.objects.filter(pk=registration.pk).update(updated_at=timezone.now() - age)
    return registration


def test_a_lost_confirmation_is_found_and_sent_once():
    lost = _aged(WorkshopRegistrationFactory(), timedelta(minutes=5))
    assert selectors.registration_notices_missing(older_than=GRACE, within=WITHIN) == [("registered", str(lost.pk))]

    assert registration_notices_sweep_task() == 1
    notice = UserNotification.objects.get(user=lost.user, type="workshop_registered")
    assert notice.data["registration_id"] == str(lost.pk)
    assert EmailQueue.objects.filter(to_email=lost.user.email).count() == 1
    assert registration_notices_sweep_task() == 0
    assert EmailQueue.objects.filter(to_email=lost.user.email).count() == 1


def test_only_what_would_still_be_sent_is_swept():
    _aged(WorkshopRegistrationFactory(), timedelta(seconds=30))  # its task may be on the way
    _aged(WorkshopRegistrationFactory(), timedelta(days=3))  # too old to confirm now
    _aged(WorkshopRegistrationFactory(payment_status=PaymentStatus.PENDING), timedelta(minutes=5))  # not paid
    _aged(WorkshopRegistrationFactory(status=RegistrationStatus.CANCELLED), timedelta(minutes=5))
    started = WorkshopFactory(starts_at=timezone.now() - timedelta(minutes=10))
    _aged(WorkshopRegistrationFactory(workshop=started), timedelta(minutes=5))
    confirmed = _aged(WorkshopRegistrationFactory(), timedelta(minutes=5))
    UserNotification.objects.create(
        user=confirmed.user, type="workshop_registered", title="x", data={"registration_id": str(confirmed.pk)}
    )
    assert selectors.registration_notices_missing(older_than=GRACE, within=WITHIN) == []


def test_a_waitlist_place_and_an_open_offer_are_swept_by_their_kind():
    waiting = WorkshopRegistrationFactory(status=RegistrationStatus.WAITLISTED)
    WorkshopWaitlistEntryFactory(registration=waiting, workshop=waiting.workshop, user=waiting.user)
    _aged(waiting, timedelta(minutes=5))
    offered = WorkshopRegistrationFactory(status=RegistrationStatus.WAITLISTED)
    WorkshopWaitlistEntryFactory(
        registration=offered,
        workshop=offered.workshop,
        user=offered.user,
        status=WaitlistStatus.OFFERED,
        offered_at=timezone.now() - timedelta(minutes=5),
        offer_expires_at=timezone.now() + timedelta(hours=20),
    )
    missing = selectors.registration_notices_missing(older_than=GRACE, within=WITHIN)
    assert sorted(missing) == sorted([("waitlisted", str(waiting.pk)), ("seat_offered", str(offered.pk))])
