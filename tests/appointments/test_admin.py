"""Back office: every model has a working admin; therapists with appointments are archived, not deleted."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from appointments.models import AppointmentData, TherapistProfile
from tests.factories.appointments import (
    AppointmentDataFactory,
    AppointmentPaymentFactory,
    AppointmentReminderLogFactory,
    CalendlyWebhookEventFactory,
    SessionNoteFactory,
    TherapistAvailabilityFactory,
    TherapistProfileFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    "therapistprofile",
    "therapistavailability",
    "appointmentdata",
    "appointmentpayment",
    "appointmentreminderlog",
    "sessionnote",
    "calendlywebhookevent",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load(client, staff, model):
    AppointmentPaymentFactory()
    AppointmentReminderLogFactory()
    TherapistAvailabilityFactory()
    CalendlyWebhookEventFactory()
    SessionNoteFactory()
    client.force_login(staff)
    response = client.get(reverse(f"admin:appointments_{model}_changelist"))
    assert response.status_code == 200


def test_deleting_a_therapist_with_appointments_is_refused_with_a_message(client, staff):
    appointment = AppointmentDataFactory()
    therapist = appointment.therapist
    client.force_login(staff)
    url = reverse("admin:appointments_therapistprofile_delete", args=[therapist.pk])
    for method in (client.get, client.post):
        response = method(url, {"post": "yes"} if method == client.post else None)
        assert response.status_code == 302
        texts = [str(m) for m in get_messages(response.wsgi_request)]
        assert any("cannot be deleted. Archive it instead" in text for text in texts)
    assert TherapistProfile.all_objects.filter(pk=therapist.pk).exists()


def test_therapist_without_appointments_can_be_deleted(client, staff):
    therapist = TherapistProfileFactory()
    client.force_login(staff)
    response = client.post(reverse("admin:appointments_therapistprofile_delete", args=[therapist.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not TherapistProfile.all_objects.filter(pk=therapist.pk).exists()


def test_bulk_delete_is_replaced_by_archive_and_restore(client, staff):
    therapist = AppointmentDataFactory().therapist
    client.force_login(staff)
    changelist = reverse("admin:appointments_therapistprofile_changelist")
    response = client.get(changelist)
    actions = [choice[0] for choice in response.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    client.post(changelist, {"action": "archive", "_selected_action": [str(therapist.pk)]})
    assert not TherapistProfile.objects.filter(pk=therapist.pk).exists()
    therapist.refresh_from_db()
    assert therapist.is_archived
    assert AppointmentData.objects.get().therapist == therapist  # bookings keep their therapist
    # Archived rows still show in the admin and can be restored.
    assert therapist.display_name in client.get(changelist).content.decode()
    client.post(changelist, {"action": "restore", "_selected_action": [str(therapist.pk)]})
    assert TherapistProfile.objects.filter(pk=therapist.pk).exists()


def test_appointment_with_payments_cannot_be_deleted(client, staff):
    payment = AppointmentPaymentFactory()
    client.force_login(staff)
    response = client.post(
        reverse("admin:appointments_appointmentdata_delete", args=[payment.appointment_id]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert AppointmentData.objects.filter(pk=payment.appointment_id).exists()


def test_webhook_events_and_payments_are_read_only(client, staff):
    event = CalendlyWebhookEventFactory()
    client.force_login(staff)
    assert client.get(reverse("admin:appointments_calendlywebhookevent_add")).status_code == 403
    response = client.post(
        reverse("admin:appointments_calendlywebhookevent_change", args=[event.pk]), {"event_type": "x"}
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.event_type == "invitee.created"
    assert client.get(reverse("admin:appointments_appointmentpayment_add")).status_code == 403
