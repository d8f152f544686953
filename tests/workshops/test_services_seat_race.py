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
@pytest.mark.parametrize(("capacity", "members"), [(1, 2), (2, 6)])
def test_concurrent_registrations_never_oversell(monkeypatch, capacity, members):
    workshop = WorkshopFactory(capacity=capacity)
    people = [UserFactory() for _ in range(members)]
    real_seats_held = selectors.workshop_seats_held

    def slow_seats_held(*, workshop):
        # Widen the window between counting and inserting, where an unlocked check would oversell.
        held = real_seats_held(workshop=workshop)
        time.sleep(0.05)
        return held

    monkeypatch.setattr(services.seats, "workshop_seats_held", slow_seats_held)
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
