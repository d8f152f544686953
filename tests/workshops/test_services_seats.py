from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bloom.exceptions import ApplicationError
from tests.factories.accounts import UserFactory
from tests.factories.workshops import (
    WorkshopFactory,
    WorkshopRegistrationFactory,
    WorkshopSeriesFactory,
)
from workshops import selectors, services
from workshops.models import (
    PaymentStatus,
    RegistrationStatus,
    UserWorkshopSeriesProgress,
    WaitlistStatus,
    WorkshopFeedback,
    WorkshopRegistration,
    WorkshopStatus,
    WorkshopWaitlistEntry,
)

pytestmark = pytest.mark.django_db


def test_registration_takes_a_seat_then_full_workshop_waitlists_in_order():
    workshop = WorkshopFactory(capacity=1)
    first, second, third = UserFactory(), UserFactory(), UserFactory()

    seat = services.registration_create(member=first, workshop=workshop)
    wait_a = services.registration_create(member=second, workshop=workshop)
    wait_b = services.registration_create(member=third, workshop=workshop)

    assert seat.status == RegistrationStatus.REGISTERED
    assert seat.payment_status == PaymentStatus.NOT_REQUIRED
    assert wait_a.status == wait_b.status == RegistrationStatus.WAITLISTED
    assert [e.user for e in WorkshopWaitlistEntry.objects.filter(workshop=workshop).order_by("position")] == [
        second,
        third,
    ]
    assert selectors.workshop_seats_left(workshop=workshop) == 0


def test_registration_is_idempotent_for_the_same_member():
    workshop = WorkshopFactory(capacity=5)
    member = UserFactory()
    first = services.registration_create(member=member, workshop=workshop)
    again = services.registration_create(member=member, workshop=workshop)
    assert first.pk == again.pk
    assert WorkshopRegistration.objects.filter(workshop=workshop).count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"status": WorkshopStatus.DRAFT},
        {"status": WorkshopStatus.CANCELLED},
        {"starts_at": timezone.now() - timedelta(hours=1), "ends_at": timezone.now() + timedelta(hours=1)},
    ],
)
def test_registration_refused_when_not_bookable(changes):
    workshop = WorkshopFactory(**changes)
    with pytest.raises(ApplicationError):
        services.registration_create(member=UserFactory(), workshop=workshop)
    assert not WorkshopRegistration.objects.filter(workshop=workshop).exists()


def test_registration_refused_for_archived_workshop():
    workshop = WorkshopFactory()
    workshop.archive()
    with pytest.raises(ApplicationError):
        services.registration_create(member=UserFactory(), workshop=workshop)


def test_paid_workshop_holds_seat_with_pending_payment():
    workshop = WorkshopFactory(price=Decimal("25.00"))
    registration = services.registration_create(member=UserFactory(), workshop=workshop)
    assert registration.status == RegistrationStatus.REGISTERED
    assert registration.payment_status == PaymentStatus.PENDING
    assert registration.amount == Decimal("25.00")


def test_cancel_offers_the_seat_to_the_next_waiting_member_only(settings):
    settings.WORKSHOPS_WAITLIST_OFFER_HOURS = 12
    workshop = WorkshopFactory(capacity=1)
    seat = services.registration_create(member=UserFactory(), workshop=workshop)
    second = services.registration_create(member=UserFactory(), workshop=workshop)
    third = services.registration_create(member=UserFactory(), workshop=workshop)

    services.registration_cancel(registration=seat)

    seat.refresh_from_db()
    assert seat.status == RegistrationStatus.CANCELLED and seat.cancelled_at is not None
    offer = WorkshopWaitlistEntry.objects.get(registration=second)
    assert offer.status == WaitlistStatus.OFFERED
    assert timedelta(hours=11) < offer.offer_expires_at - timezone.now() <= timedelta(hours=12)
    assert WorkshopWaitlistEntry.objects.get(registration=third).status == WaitlistStatus.WAITING
    # The offered seat is held: a newcomer goes to the waitlist, not into the seat.
    newcomer = services.registration_create(member=UserFactory(), workshop=workshop)
    assert newcomer.status == RegistrationStatus.WAITLISTED


def test_accepting_an_offer_takes_the_seat():
    workshop = WorkshopFactory(capacity=1)
    seat = services.registration_create(member=UserFactory(), workshop=workshop)
    waiting = services.registration_create(member=UserFactory(), workshop=workshop)
    services.registration_cancel(registration=seat)

    accepted = services.waitlist_offer_accept(registration=waiting)

    assert accepted.status == RegistrationStatus.REGISTERED
    assert WorkshopWaitlistEntry.objects.get(registration=waiting).status == WaitlistStatus.ACCEPTED
    assert selectors.workshop_seats_left(workshop=workshop) == 0


def test_accepting_without_an_offer_is_refused():
    workshop = WorkshopFactory(capacity=1)
    services.registration_create(member=UserFactory(), workshop=workshop)
    waiting = services.registration_create(member=UserFactory(), workshop=workshop)
    with pytest.raises(ApplicationError):
        services.waitlist_offer_accept(registration=waiting)
    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.WAITLISTED


def test_expired_offer_passes_to_the_next_member():
    workshop = WorkshopFactory(capacity=1)
    seat = services.registration_create(member=UserFactory(), workshop=workshop)
    second = services.registration_create(member=UserFactory(), workshop=workshop)
    third = services.registration_create(member=UserFactory(), workshop=workshop)
    services.registration_cancel(registration=seat)
    WorkshopWaitlistEntry.objects.filter(registration=second).update(
        offer_expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert services.waitlist_offers_expire() == 1

    second.refresh_from_db()
    assert second.status == RegistrationStatus.CANCELLED
    assert WorkshopWaitlistEntry.objects.get(registration=second).status == WaitlistStatus.EXPIRED
    assert WorkshopWaitlistEntry.objects.get(registration=third).status == WaitlistStatus.OFFERED
    with pytest.raises(ApplicationError):
        services.waitlist_offer_accept(registration=second)
    assert services.waitlist_offers_expire() == 0


def test_cancel_is_idempotent_and_refused_after_attendance():
    registration = WorkshopRegistrationFactory()
    services.registration_cancel(registration=registration)
    services.registration_cancel(registration=registration)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED

    attended = WorkshopRegistrationFactory(status=RegistrationStatus.ATTENDED)
    with pytest.raises(ApplicationError):
        services.registration_cancel(registration=attended)
    attended.refresh_from_db()
    assert attended.status == RegistrationStatus.ATTENDED


def test_unpaid_seats_are_released_after_the_hold(settings):
    settings.WORKSHOPS_PAYMENT_HOLD_MINUTES = 30
    workshop = WorkshopFactory(capacity=1, price=Decimal("20.00"))
    stale = services.registration_create(member=UserFactory(), workshop=workshop)
    waiting = services.registration_create(member=UserFactory(), workshop=workshop)
    fresh_workshop = WorkshopFactory(price=Decimal("20.00"))
    fresh = services.registration_create(member=UserFactory(), workshop=fresh_workshop)
    WorkshopRegistration.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(minutes=31))

    assert services.registrations_unpaid_release() == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == RegistrationStatus.CANCELLED
    assert fresh.status == RegistrationStatus.REGISTERED
    assert WorkshopWaitlistEntry.objects.get(registration=waiting).status == WaitlistStatus.OFFERED


def test_workshop_cancel_cancels_every_active_registration():
    workshop = WorkshopFactory(capacity=1)
    services.registration_create(member=UserFactory(), workshop=workshop)
    services.registration_create(member=UserFactory(), workshop=workshop)
    other = WorkshopRegistrationFactory()

    assert services.workshop_cancel(workshop=workshop) == 2

    assert not WorkshopRegistration.objects.filter(workshop=workshop).exclude(status="cancelled").exists()
    assert not WorkshopWaitlistEntry.objects.filter(workshop=workshop, status__in=["waiting", "offered"]).exists()
    other.refresh_from_db()
    assert other.status == RegistrationStatus.REGISTERED


def test_series_progress_counts_attended_sessions_and_completes_once():
    series = WorkshopSeriesFactory()
    sessions = WorkshopFactory.create_batch(2, series=series)
    WorkshopFactory(series=series, status=WorkshopStatus.CANCELLED)
    member = UserFactory()
    WorkshopRegistrationFactory(user=member, workshop=sessions[0], status=RegistrationStatus.ATTENDED)
    WorkshopRegistrationFactory(user=member, workshop=sessions[1], status=RegistrationStatus.REGISTERED)

    progress = services.series_progress_update(user_id=member.pk, series_id=series.pk)
    assert (progress.sessions_attended, progress.completed_at) == (1, None)

    WorkshopRegistration.objects.filter(user=member, workshop=sessions[1]).update(status=RegistrationStatus.ATTENDED)
    progress = services.series_progress_update(user_id=member.pk, series_id=series.pk)
    completed_at = progress.completed_at
    assert progress.sessions_attended == 2 and completed_at is not None

    again = services.series_progress_update(user_id=member.pk, series_id=series.pk)
    assert again.completed_at == completed_at
    assert UserWorkshopSeriesProgress.objects.filter(user=member, series=series).count() == 1


def test_mark_attended_records_manual_attendance_once(django_capture_on_commit_callbacks):
    held = WorkshopFactory(starts_at=timezone.now() - timedelta(days=1))  # attendance is marked after the start
    registration = WorkshopRegistrationFactory(workshop=held)
    services.registration_mark_attended(registration=registration)
    services.registration_mark_attended(registration=registration)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.ATTENDED
    assert registration.attendance.count() == 1
    assert registration.attendance.get().source == "manual"


def test_feedback_only_from_members_who_attended():
    registration = WorkshopRegistrationFactory()
    with pytest.raises(ApplicationError):
        services.feedback_submit(member=registration.user, workshop=registration.workshop, rating=5)
    assert not WorkshopFeedback.objects.exists()

    WorkshopRegistration.objects.filter(pk=registration.pk).update(status=RegistrationStatus.ATTENDED)
    services.feedback_submit(member=registration.user, workshop=registration.workshop, rating=4, comments=" ok ")
    services.feedback_submit(member=registration.user, workshop=registration.workshop, rating=5)
    feedback = WorkshopFeedback.objects.get()
    assert (feedback.rating, feedback.comments) == (5, "")


# Issue 18 point 5: what a sign-up holds the workshop lock for, pinned (the test's transaction
# makes the service's a savepoint: 2 statements). Lock, one query for seats, her registration
# and the waitlist's end, then the inserts.
@pytest.mark.parametrize(("full", "queries"), [(False, 5), (True, 6)], ids=["seated", "waitlisted"])
def test_a_sign_up_runs_a_pinned_number_of_queries(django_assert_num_queries, full, queries):
    workshop = WorkshopFactory(capacity=1)
    if full:
        services.registration_create(member=UserFactory(), workshop=workshop)
    member = UserFactory()

    with django_assert_num_queries(queries):
        registration = services.registration_create(member=member, workshop=workshop)

    assert registration.status == (RegistrationStatus.WAITLISTED if full else RegistrationStatus.REGISTERED)
    with django_assert_num_queries(5):  # again: lock, state, her registration back, unchanged
        assert services.registration_create(member=member, workshop=workshop) == registration
