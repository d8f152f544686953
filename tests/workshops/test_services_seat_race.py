"""Members racing for the last seats: the workshop row lock means capacity is never exceeded."""

import threading
import time

import pytest
from django.db import connection

from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory
from workshops import selectors, services
from workshops.models import RegistrationStatus, WorkshopRegistration, WorkshopWaitlistEntry


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("capacity", "members"), [(1, 2), (2, 6), (2, 8)])
def test_concurrent_registrations_never_oversell(monkeypatch, capacity, members):
    workshop = WorkshopFactory(capacity=capacity)
    people = [UserFactory() for _ in range(members)]
    real_seat_state = services.seats._seat_state

    def slow_seat_state(*, workshop, member):
        # Widen the window between counting and inserting, where an unlocked check would oversell.
        state = real_seat_state(workshop=workshop, member=member)
        time.sleep(0.05)
        return state

    monkeypatch.setattr(services.seats, "_seat_state", slow_seat_state)
    barrier = threading.Barrier(members)
    errors = []

    def register(member):
        try:
            barrier.wait()
            services.registration_create(member=member, workshop=workshop)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = list(WorkshopRegistration.objects.filter(workshop=workshop).values_list("status", flat=True))
    assert statuses.count(RegistrationStatus.REGISTERED) == capacity
    assert statuses.count(RegistrationStatus.WAITLISTED) == members - capacity
    positions = sorted(WorkshopWaitlistEntry.objects.filter(workshop=workshop).values_list("position", flat=True))
    assert positions == list(range(1, members - capacity + 1))


@pytest.mark.django_db(transaction=True)
def test_the_seat_count_waits_for_the_lock_and_sees_the_seat_just_taken(monkeypatch):
    """The count runs after the lock is granted, in a statement of its own: counted in the
    statement that waited for the lock, it would not see the seat the holder just committed."""
    workshop = WorkshopFactory(capacity=1)
    first, second = UserFactory(), UserFactory()
    locked = threading.Event()
    real_lock = services.seats.workshop_lock

    def lock_then_wait(workshop_id):
        row = real_lock(workshop_id)
        if threading.current_thread().name == "first":
            locked.set()
            time.sleep(0.3)  # the second sign-up is now waiting on the row lock
        return row

    monkeypatch.setattr(services.seats, "workshop_lock", lock_then_wait)
    results = {}

    def register(member):
        try:
            results[threading.current_thread().name] = services.registration_create(member=member, workshop=workshop)
        finally:
            connection.close()

    one = threading.Thread(target=register, args=(first,), name="first")
    one.start()
    assert locked.wait(5)
    two = threading.Thread(target=register, args=(second,), name="second")
    two.start()
    one.join()
    two.join()

    assert results["first"].status == RegistrationStatus.REGISTERED
    assert results["second"].status == RegistrationStatus.WAITLISTED
    assert selectors.workshop_seats_held(workshop=workshop) == 1
