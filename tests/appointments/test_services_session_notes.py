"""Session notes: encrypted at rest, audited staff reads (key rotation: tests/bloom/test_key_rotation.py)."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.urls import reverse

from accounts.models import AdminActivityLog
from appointments import services
from appointments.models import SessionNote
from bloom.exceptions import ApplicationError
from tests.factories.appointments import AppointmentDataFactory, SessionNoteFactory

pytestmark = pytest.mark.django_db

SECRET = "Disclosed intrusive thoughts; safety plan reviewed."


def _raw_body(note) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM session_notes WHERE id = %s", [note.pk])
        return cursor.fetchone()[0]


def test_body_is_ciphertext_in_the_database(settings):
    note = SessionNoteFactory(body=SECRET)
    raw = _raw_body(note)
    assert SECRET not in raw
    assert Fernet(settings.BLOOM_FIELD_ENCRYPTION_KEYS[0].encode()).decrypt(raw.encode()).decode() == SECRET
    assert SessionNote.objects.get(pk=note.pk).body == SECRET


def test_write_links_the_note_from_the_appointment_and_replaces_on_second_write(staff):
    appointment = AppointmentDataFactory()
    note = services.session_note_write(appointment=appointment, author=staff, body="first")
    appointment.refresh_from_db()
    assert appointment.session_notes_id == note.pk
    assert note.therapist_id == appointment.therapist_id
    again = services.session_note_write(appointment=appointment, author=staff, body="second")
    assert again.pk == note.pk
    assert SessionNote.objects.get().body == "second"


def test_write_refuses_without_therapist_or_body(staff):
    with pytest.raises(ApplicationError):
        services.session_note_write(appointment=AppointmentDataFactory(therapist=None), author=staff, body="x")
    with pytest.raises(ApplicationError):
        services.session_note_write(appointment=AppointmentDataFactory(), author=staff, body="   ")
    assert not SessionNote.objects.exists()


def test_staff_opening_a_note_writes_an_audit_row_and_lists_never_show_text(client, staff):
    note = SessionNoteFactory(body=SECRET)
    client.force_login(staff)
    listing = client.get(reverse("admin:appointments_sessionnote_changelist"))
    assert listing.status_code == 200
    assert SECRET not in listing.content.decode()
    assert not AdminActivityLog.objects.filter(action="view_health").exists()

    page = client.get(reverse("admin:appointments_sessionnote_change", args=[note.pk]))
    assert page.status_code == 200
    assert SECRET in page.content.decode()
    audit = AdminActivityLog.objects.get(action="view_health")
    assert audit.user == staff
    assert audit.object_type == "appointments.sessionnote"
    assert audit.object_id == str(note.pk)


def test_staff_edit_through_admin_replaces_the_encrypted_body(client, staff):
    note = SessionNoteFactory(body=SECRET)
    client.force_login(staff)
    response = client.post(reverse("admin:appointments_sessionnote_change", args=[note.pk]), {"body": "Updated plan."})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "Updated plan."
    assert note.author == staff
    assert "Updated plan." not in _raw_body(note)


def test_staff_can_add_a_note_in_the_admin(client, staff):
    appointment = AppointmentDataFactory()
    client.force_login(staff)
    response = client.post(
        reverse("admin:appointments_sessionnote_add"), {"appointment": str(appointment.pk), "body": SECRET}
    )
    assert response.status_code == 302
    note = SessionNote.objects.get()
    assert note.body == SECRET
    assert note.author == staff
    appointment.refresh_from_db()
    assert appointment.session_notes_id == note.pk
