import pytest
from django.urls import reverse

from tests.callbacks import work_callbacks
from tests.factories.workshops import (
    StaffFactory,
    WorkshopFactory,
    WorkshopRegistrationFactory,
    ZoomWebhookEventFactory,
)
from workshops.models import RegistrationStatus, Workshop, ZoomWebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    return client


def test_deleting_a_workshop_with_registrations_is_refused_with_a_message(admin_client):
    registration = WorkshopRegistrationFactory()
    workshop = registration.workshop
    url = reverse("admin:workshops_workshop_delete", args=[workshop.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert Workshop.all_objects.filter(pk=workshop.pk).exists()
    assert "has registrations, so it cannot be deleted" in response.content.decode()


def test_bulk_delete_of_held_workshops_is_refused(admin_client):
    registration = WorkshopRegistrationFactory()
    admin_client.post(
        reverse("admin:workshops_workshop_changelist"),
        {"action": "delete_selected", "_selected_action": [registration.workshop_id], "post": "yes"},
    )
    assert Workshop.all_objects.filter(pk=registration.workshop_id).exists()


def test_workshop_without_registrations_can_be_deleted(admin_client):
    workshop = WorkshopFactory()
    admin_client.post(reverse("admin:workshops_workshop_delete", args=[workshop.pk]), {"post": "yes"})
    assert not Workshop.all_objects.filter(pk=workshop.pk).exists()


def test_archive_action_hides_workshop_from_members_but_admin_still_lists_it(admin_client, client):
    workshop = WorkshopFactory(title="Archivable evening")
    admin_client.post(
        reverse("admin:workshops_workshop_changelist"), {"action": "archive", "_selected_action": [workshop.pk]}
    )
    workshop.refresh_from_db()
    assert workshop.is_archived
    assert "Archivable evening" in admin_client.get(reverse("admin:workshops_workshop_changelist")).content.decode()
    assert admin_client.get(reverse("workshops:workshop_detail", args=[workshop.slug])).status_code == 404


def test_cancel_registration_action_goes_through_the_service(admin_client):
    registration = WorkshopRegistrationFactory()
    admin_client.post(
        reverse("admin:workshops_workshopregistration_changelist"),
        {"action": "cancel_registrations", "_selected_action": [registration.pk]},
    )
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED and registration.cancelled_at is not None


@pytest.mark.parametrize(
    "model",
    [
        "workshop",
        "workshopseries",
        "workshopregistration",
        "workshopwaitlistentry",
        "workshopattendance",
        "workshopfeedback",
        "workshopresource",
        "userworkshopseriesprogress",
        "zoomwebhookevent",
    ],
)
def test_every_admin_changelist_renders(admin_client, model):
    assert admin_client.get(reverse(f"admin:workshops_{model}_changelist")).status_code == 200


def test_webhook_events_are_read_only_and_reprocess_only_pending_ones(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    from workshops.tasks import zoom_event_process_task

    # The action queues for the worker after commit; run the task in-process instead.
    monkeypatch.setattr(zoom_event_process_task, "delay", lambda event_id: zoom_event_process_task(event_id))
    pending = ZoomWebhookEventFactory(event_type="meeting.started")
    done = ZoomWebhookEventFactory(processed=True, outcome="joined")
    response = admin_client.get(reverse("admin:workshops_zoomwebhookevent_change", args=[pending.pk]))
    assert response.status_code == 200 and "Save" not in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        admin_client.post(
            reverse("admin:workshops_zoomwebhookevent_changelist"),
            {"action": "reprocess", "_selected_action": [pending.pk, done.pk]},
        )
    assert len(work_callbacks(callbacks)) == 1
    pending.refresh_from_db()
    done.refresh_from_db()
    assert (pending.processed, pending.outcome) == (True, "ignored")
    assert done.outcome == "joined" and done.attempts == 0
    assert ZoomWebhookEvent.objects.count() == 2


def test_the_workshop_filter_lists_the_near_workshops_and_a_link_to_an_old_one_still_filters(admin_client):
    """Not every workshop (2,000 at 100x, most of these lists' time): those of the past 30 days
    and the next 90, plus the one a link chose."""
    from datetime import timedelta

    from django.utils import timezone

    soon = WorkshopRegistrationFactory(workshop__title="Sleep and the newborn")
    old = WorkshopRegistrationFactory(
        workshop__title="Last year's circle", workshop__starts_at=timezone.now() - timedelta(days=400)
    )
    url = reverse("admin:workshops_workshopregistration_changelist")
    page = admin_client.get(url).content.decode()
    assert f"?workshop__id__exact={soon.workshop.pk}" in page
    assert f"?workshop__id__exact={old.workshop.pk}" not in page  # the row shows it; the filter does not
    chosen = admin_client.get(url, {"workshop__id__exact": str(old.workshop.pk)})
    assert [r.pk for r in chosen.context["cl"].result_list] == [old.pk]
    spec = next(f for f in chosen.context["cl"].filter_specs if f.title == "workshop")
    assert str(old.workshop.pk) in [value for value, _ in spec.lookup_choices]  # shown as the chosen one
