"""Session notes: drafts from a template, signing (which locks the body), addenda, versions;
and the superbill codes the clinician enters on an appointment (docs/appointments.md,
"The clinician's workspace and session notes"; ADRs 0215-0219).

Every body a note ever has is one `session_note_versions` row (append-only, encrypted). A
signed note's body never changes in place: what the clinician adds later is an addendum,
a version of its own with its author and time.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from bloom.exceptions import ApplicationError

from .models import (
    NOTE_TEMPLATE_BODIES,
    AppointmentData,
    NoteStatus,
    NoteTemplate,
    NoteVersionKind,
    SessionNote,
    SessionNoteVersion,
)

SIGNED_REFUSAL = "This note is signed and locked. Add an addendum instead; the signed text stays as it was."

# ICD-10-CM: a letter, a digit, a digit or letter, then optionally a dot and 1-4 more characters.
ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
# The psychotherapy CPT codes the practice bills, with what each one is (shown in the admin help).
SERVICE_CODES = {
    "90791": "Psychiatric diagnostic evaluation (intake)",
    "90832": "Psychotherapy, 30 minutes",
    "90834": "Psychotherapy, 45 minutes",
    "90837": "Psychotherapy, 60 minutes",
    "90846": "Family psychotherapy without the patient",
    "90847": "Family psychotherapy with the patient",
    "90853": "Group psychotherapy",
}
MAX_DIAGNOSES = 12  # a CMS-1500 claim holds twelve diagnosis pointers (A-L)


def note_template_body(*, template: str) -> str:
    """The headings a new note of this template starts with ("" for free text or an unknown one)."""
    return NOTE_TEMPLATE_BODIES.get(template, "")


def _next_number(note: SessionNote) -> int:
    return (note.versions.aggregate(top=Max("number"))["top"] or 0) + 1


def _version_add(*, note: SessionNote, kind: str, body: str, author: User | None) -> SessionNoteVersion:
    return SessionNoteVersion.objects.create(note=note, number=_next_number(note), kind=kind, body=body, author=author)


@transaction.atomic
def session_note_draft_save(
    *, appointment: AppointmentData, author: User | None, body: str, template: str | None = None
) -> SessionNote:
    """Create the appointment's note as a draft, or rewrite its draft; write one version per save.

    Locks the appointment row (so two saves of a new note make one note) and the note row.
    Refuses (ApplicationError) an appointment without therapist, an empty body, an unknown
    template and a signed note (its body is locked: add an addendum). Links the note from
    `appointment_data.session_notes_id`. Queues nothing.
    """
    appointment = AppointmentData.objects.select_for_update().get(pk=appointment.pk)
    if appointment.therapist_id is None:
        raise ApplicationError("Assign a therapist to the appointment before writing a session note.")
    if not body.strip():
        raise ApplicationError("A session note cannot be empty.")
    if template is not None and template not in NoteTemplate.values:
        raise ApplicationError("Choose SOAP, DAP or free text for the note.")
    note = SessionNote.objects.select_for_update().filter(appointment=appointment).first()
    if note is None:
        note = SessionNote.objects.create(
            appointment=appointment,
            therapist_id=appointment.therapist_id,
            author=author,
            body=body,
            template=template or NoteTemplate.FREE,
        )
    else:
        if note.is_signed:
            raise ApplicationError(SIGNED_REFUSAL)
        note.author, note.body = author, body
        note.template = template or note.template
        note.save(update_fields=["author", "body", "template", "updated_at"])
    _version_add(note=note, kind=NoteVersionKind.DRAFT, body=body, author=author)
    if appointment.session_notes_id != note.pk:
        AppointmentData.objects.filter(pk=appointment.pk).update(session_notes=note)
    return note


@transaction.atomic
def session_note_sign(*, note: SessionNote, signer: User) -> SessionNote:
    """Sign and lock a draft: its body becomes final and a "signed" version records it.

    Locks the note row; a second sign (or one racing it) is refused with ApplicationError,
    so there is exactly one signed version per note. Only the appointment's therapist (her
    login) or the note's author may sign.
    """
    note = SessionNote.objects.select_for_update().select_related("therapist").get(pk=note.pk)
    if note.is_signed:
        raise ApplicationError("This note is already signed.")
    if signer.pk not in {note.therapist.user_id, note.author_id}:
        raise ApplicationError("Only the session's clinician can sign this note.")
    note.status, note.signed_at, note.signed_by = NoteStatus.SIGNED, timezone.now(), signer
    note.save(update_fields=["status", "signed_at", "signed_by", "updated_at"])
    _version_add(note=note, kind=NoteVersionKind.SIGNED, body=note.body, author=signer)
    return note


@transaction.atomic
def session_note_addendum_add(*, note: SessionNote, author: User, body: str) -> SessionNoteVersion:
    """Add an addendum to a signed note, with its own author and time; the signed body stays.

    Locks the note row (numbers stay gapless under concurrent addenda). Refuses an empty
    addendum and one on a draft (edit the draft instead).
    """
    note = SessionNote.objects.select_for_update().get(pk=note.pk)
    if not note.is_signed:
        raise ApplicationError("This note is still a draft: change the draft itself, then sign it.")
    if not body.strip():
        raise ApplicationError("An addendum cannot be empty.")
    return _version_add(note=note, kind=NoteVersionKind.ADDENDUM, body=body.strip(), author=author)


def session_note_addenda(*, note: SessionNote) -> list[SessionNoteVersion]:
    """The note's addenda, oldest first, with their authors (one query)."""
    return list(note.versions.filter(kind=NoteVersionKind.ADDENDUM).select_related("author").order_by("number"))


def session_note_versions(*, note: SessionNote) -> list[SessionNoteVersion]:
    """Every version of the note, oldest first, with their authors (one query)."""
    return list(note.versions.select_related("author").order_by("number"))


# --- Superbill codes ----------------------------------------------------------------------------


def diagnosis_codes_clean(*, codes: list[str] | str) -> list[str]:
    """ICD-10 codes in the form a claim takes (upper case, dotted after three characters),
    duplicates dropped, order kept. Raises ApplicationError naming every code that is not ICD-10."""
    raw = codes.replace(";", ",").replace("\n", ",").split(",") if isinstance(codes, str) else codes
    cleaned: list[str] = []
    wrong: list[str] = []
    for typed in (str(c).strip().upper() for c in raw):
        if not typed:
            continue
        code = f"{typed[:3]}.{typed[3:]}" if "." not in typed and len(typed) > 3 else typed
        if not ICD10_RE.match(code):
            wrong.append(typed)
        elif code not in cleaned:
            cleaned.append(code)
    if wrong:
        raise ApplicationError(
            f"Not an ICD-10 code: {', '.join(wrong)}. Codes look like F53.0 or O99.345 (a letter, two "
            "characters, then an optional dot and up to four more)."
        )
    if len(cleaned) > MAX_DIAGNOSES:
        raise ApplicationError(f"A superbill holds at most {MAX_DIAGNOSES} diagnosis codes.")
    return cleaned


def service_code_clean(*, code: str) -> str:
    """A CPT code the practice bills (SERVICE_CODES), or "" for none; ApplicationError otherwise."""
    code = code.strip()
    if code and code not in SERVICE_CODES:
        known = ", ".join(f"{key} ({label})" for key, label in SERVICE_CODES.items())
        raise ApplicationError(f"{code} is not a service code the practice bills. Use one of: {known}.")
    return code


@transaction.atomic
def appointment_codes_set(*, appointment: AppointmentData, diagnosis_codes, service_code: str) -> AppointmentData:
    """Set the superbill codes of a session (validated as above). Locks the appointment row;
    writes only those two columns."""
    diagnoses = diagnosis_codes_clean(codes=diagnosis_codes)
    service = service_code_clean(code=service_code)
    appointment = AppointmentData.objects.select_for_update().get(pk=appointment.pk)
    appointment.diagnosis_codes, appointment.service_code = diagnoses, service
    appointment.save(update_fields=["diagnosis_codes", "service_code", "updated_at"])
    return appointment
