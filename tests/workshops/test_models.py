import pytest
from django.db import IntegrityError, transaction

from tests.factories.workshops import (
    WorkshopFactory,
    WorkshopFeedbackFactory,
    WorkshopRegistrationFactory,
    WorkshopResourceFactory,
)
from workshops.models import RegistrationStatus, Workshop, WorkshopRegistration

pytestmark = pytest.mark.django_db


def test_one_active_registration_per_member_and_workshop():
    registration = WorkshopRegistrationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopRegistrationFactory(user=registration.user, workshop=registration.workshop)
    registration.status = RegistrationStatus.CANCELLED
    registration.save()
    again = WorkshopRegistrationFactory(user=registration.user, workshop=registration.workshop)
    assert WorkshopRegistration.objects.filter(user=registration.user, workshop=registration.workshop).count() == 2
    assert again.is_active


@pytest.mark.parametrize("rating", [0, 6])
def test_feedback_rating_must_be_1_to_5(rating):
    with pytest.raises(IntegrityError):
        WorkshopFeedbackFactory(rating=rating)


def test_workshop_must_end_after_it_starts():
    workshop = WorkshopFactory.build()
    workshop.ends_at = workshop.starts_at
    with pytest.raises(IntegrityError):
        workshop.save()


def test_resource_needs_a_file_or_a_url():
    with pytest.raises(IntegrityError):
        WorkshopResourceFactory(url="")


def test_archived_workshops_are_hidden_by_default_manager_but_reachable_from_registrations():
    registration = WorkshopRegistrationFactory()
    registration.workshop.archive()
    assert not Workshop.objects.filter(pk=registration.workshop_id).exists()
    assert Workshop.all_objects.filter(pk=registration.workshop_id).exists()
    assert WorkshopRegistration.objects.get(pk=registration.pk).workshop.is_archived
