"""Orphaned-data checks for appointments (bloom/orphans.py)."""

from django.db.models import Exists, F, OuterRef

from accounts.models import User
from bloom.orphans import OrphanCheck

from .models import AppointmentData, SessionNote, TherapistAvailability


def _unlinked_bookings():
    matching = User.objects.filter(email__iexact=OuterRef("invitee_email"), is_active=True)
    return AppointmentData.objects.filter(user__isnull=True).exclude(invitee_email="").filter(Exists(matching))


def _link_members(queryset) -> int:
    changed = 0
    for appointment in queryset:
        user = User.objects.filter(email__iexact=appointment.invitee_email, is_active=True).first()
        if user is not None:
            changed += AppointmentData.objects.filter(pk=appointment.pk, user__isnull=True).update(user=user)
    return changed


def _stale_note_links():
    """Appointments whose session_notes_id names no note of theirs (or none at all)."""
    return AppointmentData.objects.filter(session_notes__isnull=False).exclude(session_notes__appointment=F("pk"))


def _notes_not_linked():
    return SessionNote.objects.exclude(appointment__session_notes=F("pk"))


def _relink_notes(queryset) -> int:
    return sum(AppointmentData.objects.filter(pk=note.appointment_id).update(session_notes=note) for note in queryset)


CHECKS = [
    OrphanCheck(
        name="bookings whose invitee email now matches a member",
        find=_unlinked_bookings,
        fix=_link_members,
        fix_description="link each booking to the member with that email",
    ),
    OrphanCheck(
        name="appointment_data.session_notes_id pointing at another appointment's note",
        find=_stale_note_links,
        fix=lambda qs: qs.update(session_notes=None),
        fix_description="clear the link (the note keeps its own appointment)",
    ),
    OrphanCheck(
        name="session notes their appointment does not link to",
        find=_notes_not_linked,
        fix=_relink_notes,
        fix_description="point appointment_data.session_notes_id at the note",
    ),
    OrphanCheck(
        name="availability of archived therapists",
        find=lambda: TherapistAvailability.objects.filter(therapist__archived_at__isnull=False),
        fix=lambda qs: qs.delete()[0],
        fix_description="delete the availability rows",
    ),
]
