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


def test_write_links_the_note_and_a_second_draft_write_keeps_the_first_as_a_version(staff):
    appointment = AppointmentDataFactory()
    note = services.session_note_write(appointment=appointment, author=staff, body="first")
    appointment.refresh_from_db()
    assert appointment.session_notes_id == note.pk
    assert note.therapist_id == appointment.therapist_id
    again = services.session_note_write(appointment=appointment, author=staff, body="second")
    assert again.pk == note.pk
    assert SessionNote.objects.get().body == "second"
    assert [(v.number, v.kind, v.body) for v in note.versions.order_by("number")] == [
        (1, "draft", "first"),
        (2, "draft", "second"),
    ]


def test_write_refuses_a_signed_note_and_changes_nothing(staff):
    note = SessionNoteFactory(body=SECRET, signed=True)
    with pytest.raises(ApplicationError, match="signed and locked"):
        services.session_note_write(appointment=note.appointment, author=staff, body="rewritten")
    assert SessionNote.objects.get().body == SECRET
    assert note.versions.count() == 2


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


def test_staff_edit_of_a_draft_through_admin_replaces_the_encrypted_body_and_keeps_the_old_one(client, staff):
    note = SessionNoteFactory(body=SECRET)
    client.force_login(staff)
    response = client.post(reverse("admin:appointments_sessionnote_change", args=[note.pk]), {"body": "Updated plan."})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "Updated plan."
    assert note.author == staff
    assert "Updated plan." not in _raw_body(note)
    assert [v.body for v in note.versions.order_by("number")] == [SECRET, "Updated plan."]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM session_note_versions WHERE note_id = %s", [note.pk])
        assert all(SECRET not in row[0] and "Updated plan." not in row[0] for row in cursor.fetchall())


def test_staff_can_add_a_note_in_the_admin(client, staff):
    appointment = AppointmentDataFactory()
    client.force_login(staff)
    response = client.post(
        reverse("admin:appointments_sessionnote_add"),
        {"appointment": str(appointment.pk), "template": "free", "body": SECRET},
    )
    assert response.status_code == 302
    note = SessionNote.objects.get()
    assert note.body == SECRET
    assert note.author == staff
    appointment.refresh_from_db()
    assert appointment.session_notes_id == note.pk
