"""Workshops selectors called directly: the seats rule, the catalog, and the member fence (another's row is a 404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.http import Http404
from django.utils import timezone

from tests.factories.accounts import UserFactory
from tests.factories.workshops import (
    StaffFactory,
    WorkshopFactory,
    WorkshopFeedbackFactory,
    WorkshopRegistrationFactory,
    WorkshopResourceFactory,
    WorkshopWaitlistEntryFactory,
)
from workshops import selectors
from workshops.models import RegistrationStatus, WaitlistStatus, Workshop, WorkshopRegistration, WorkshopStatus

pytestmark = pytest.mark.django_db


def _seats(workshop, *statuses, offers=0, waiting=0):
    for status in statuses:
        WorkshopRegistrationFactory(workshop=workshop, status=status)
    for _ in range(offers):
        WorkshopWaitlistEntryFactory(
            workshop=workshop, status=WaitlistStatus.OFFERED, offer_expires_at=timezone.now() + timedelta(hours=1)
        )
    for _ in range(waiting):
        WorkshopWaitlistEntryFactory(workshop=workshop)


def test_workshop_seats_held_counts_seated_registrations_and_open_offers_only():
    workshop = WorkshopFactory(capacity=4)
    _seats(
        workshop,
        RegistrationStatus.REGISTERED,
        RegistrationStatus.ATTENDED,
        RegistrationStatus.NO_SHOW,
        RegistrationStatus.CANCELLED,
        offers=1,
        waiting=2,
    )
    assert selectors.workshop_seats_held(workshop=workshop) == 4
    assert selectors.workshop_seats_left(workshop=workshop) == 0


def test_workshop_seats_left_never_goes_below_zero_and_counts_archived_workshops():
    workshop = WorkshopFactory(capacity=1)
    _seats(workshop, RegistrationStatus.REGISTERED, RegistrationStatus.REGISTERED)
    Workshop.all_objects.filter(pk=workshop.pk).update(archived_at=timezone.now())
    assert selectors.workshop_seats_held(workshop=workshop) == 2
    assert selectors.workshop_seats_left(workshop=workshop) == 0


def test_workshop_seats_annotate_agrees_with_the_single_workshop_figures():
    full, roomy = WorkshopFactory(capacity=2), WorkshopFactory(capacity=5)
    _seats(full, RegistrationStatus.REGISTERED, offers=1)
    _seats(roomy, RegistrationStatus.ATTENDED)
    rows = {w.pk: (w.seats_held, w.seats_left) for w in selectors.workshop_seats_annotate(Workshop.objects.all())}
    assert rows == {full.pk: (2, 0), roomy.pk: (1, 4)}


def test_registration_active_q_leaves_out_cancelled_and_other_members():
    member = UserFactory()
    kept = WorkshopRegistrationFactory(user=member)
    WorkshopRegistrationFactory(user=member, status=RegistrationStatus.CANCELLED)
    WorkshopRegistrationFactory()
    assert list(WorkshopRegistration.objects.filter(selectors.registration_active_q(member=member))) == [kept]


def test_workshop_list_upcoming_lists_published_future_workshops_in_order():
    later = WorkshopFactory(starts_at=timezone.now() + timedelta(days=9))
    sooner = WorkshopFactory(starts_at=timezone.now() + timedelta(days=2))
    WorkshopFactory(status=WorkshopStatus.DRAFT)
    WorkshopFactory(starts_at=timezone.now() - timedelta(hours=1))
    WorkshopFactory(archived_at=timezone.now())
    assert [w.pk for w in selectors.workshop_list_upcoming()] == [sooner.pk, later.pk]


def test_workshop_get_published_shows_cancelled_but_not_drafts():
    cancelled = WorkshopFactory(status=WorkshopStatus.CANCELLED)
    draft = WorkshopFactory(status=WorkshopStatus.DRAFT)
    assert selectors.workshop_get_published(slug=cancelled.slug) == cancelled
    with pytest.raises(Http404):
        selectors.workshop_get_published(slug=draft.slug)


def test_registration_get_for_member_is_a_404_for_another_member():
    registration = WorkshopRegistrationFactory()
    assert selectors.registration_get_for_member(member=registration.user, registration_id=registration.pk) == (
        registration
    )
    with pytest.raises(Http404):
        selectors.registration_get_for_member(member=UserFactory(), registration_id=registration.pk)


def test_registration_active_for_member_skips_a_cancelled_registration():
    workshop = WorkshopFactory()
    registration = WorkshopRegistrationFactory(workshop=workshop, status=RegistrationStatus.CANCELLED)
    assert selectors.registration_get_active_for_member(member=registration.user, workshop=workshop) is None
    again = WorkshopRegistrationFactory(workshop=workshop, user=registration.user)
    assert selectors.registration_get_active_for_member(member=registration.user, workshop=workshop) == again


def test_registration_statuses_for_member_maps_workshops_to_active_statuses():
    member = UserFactory()
    seated, waiting, cancelled = WorkshopFactory(), WorkshopFactory(), WorkshopFactory()
    WorkshopRegistrationFactory(user=member, workshop=seated)
    WorkshopWaitlistEntryFactory(user=member, workshop=waiting)
    WorkshopRegistrationFactory(user=member, workshop=cancelled, status=RegistrationStatus.CANCELLED)
    ids = [seated.pk, waiting.pk, cancelled.pk]
    assert selectors.registration_statuses_for_member(member=member, workshop_ids=ids) == {
        seated.pk: RegistrationStatus.REGISTERED,
        waiting.pk: RegistrationStatus.WAITLISTED,
    }


def test_resource_list_for_member_needs_a_seat_and_waits_for_visible_after():
    registration = WorkshopRegistrationFactory()
    workshop = registration.workshop
    shown = WorkshopResourceFactory(workshop=workshop)
    WorkshopResourceFactory(workshop=workshop, visible_after=timezone.now() + timedelta(days=1))
    assert selectors.resource_list_for_member(member=registration.user, workshop=workshop) == [shown]
    assert selectors.resource_list_for_member(member=UserFactory(), workshop=workshop) == []


def test_resource_get_for_member_gives_a_file_to_seated_members_and_staff_only():
    registration = WorkshopRegistrationFactory()
    resource = WorkshopResourceFactory(workshop=registration.workshop, url="", file=ContentFile(b"notes", "notes.txt"))
    assert selectors.resource_get_for_member(member=registration.user, resource_id=resource.pk) == resource
    assert selectors.resource_get_for_member(member=StaffFactory(), resource_id=resource.pk) == resource
    with pytest.raises(Http404):
        selectors.resource_get_for_member(member=UserFactory(), resource_id=resource.pk)


def test_feedback_get_for_member_reads_only_their_own():
    feedback = WorkshopFeedbackFactory()
    assert selectors.feedback_get_for_member(member=feedback.user, workshop=feedback.workshop) == feedback
    assert selectors.feedback_get_for_member(member=UserFactory(), workshop=feedback.workshop) is None


def test_registration_list_upcoming_for_member_lists_future_seats_and_waitlist_places_soonest_first():
    member = UserFactory()
    later = WorkshopRegistrationFactory(user=member, workshop__starts_at=timezone.now() + timedelta(days=8))
    sooner = WorkshopWaitlistEntryFactory(
        user=member, workshop__starts_at=timezone.now() + timedelta(days=3)
    ).registration
    WorkshopRegistrationFactory(user=member, status=RegistrationStatus.CANCELLED)
    WorkshopRegistrationFactory(user=member, workshop__starts_at=timezone.now() - timedelta(days=1))
    assert selectors.registration_list_upcoming_for_member(member=member) == [sooner, later]
    assert selectors.registration_list_upcoming_for_member(member=member, limit=1) == [sooner]
