"""Demo data for the clinician's workspace: Dr. Rundle's clients with sessions today and this
week, a signed note with an addendum and a draft note (docs/appointments.md)."""

from __future__ import annotations

import datetime
import zoneinfo
from datetime import timedelta

from django.utils import timezone

from accounts.demo import demo_member_ensure

from . import notes
from .models import AppointmentData, AppointmentStatus, NoteTemplate, SessionNote, TherapistProfile

DEMO_CLIENTS = [
    ("lena.demo@bloom.test", "Lena", "Okoye"),
    ("rosa.demo@bloom.test", "Rosa", "Lindqvist"),
    ("amira.demo@bloom.test", "Amira", "Haddad"),
]
# (client index, days from today, local hour, status): today's and this week's sessions move
# with the calendar on every seed; past ones keep their notes.
UPCOMING = [(0, 0, 10, None), (1, 0, 14, None), (2, 1, 11, None), (0, 3, 10, None)]
PAST = [(1, -1, 15, AppointmentStatus.COMPLETED), (2, -2, 9, AppointmentStatus.COMPLETED)]
SIGNED_NOTE = (
    "Subjective:\nSix weeks postpartum; sleeping about four hours a night in pieces. Feels 'on edge' most evenings.\n\n"
    "Objective:\nEPDS 14. Engaged, tearful when talking about feeding.\n\n"
    "Assessment:\nPostpartum anxiety with low mood; no thoughts of harm.\n\n"
    "Plan:\nWeekly sessions; sleep shifts with her partner; breathing exercise before the night feed."
)
ADDENDUM = "She called two days later: the sleep shifts started and she slept five hours in a row twice."
DRAFT_NOTE = "Data:\nTalked about going back to work in March.\n\nAssessment:\n\nPlan:\n"


def _session(*, therapist, client, key: str, day: datetime.date, hour: int, zone, status, move: bool):
    starts = datetime.datetime.combine(day, datetime.time(hour), tzinfo=zone)
    fields = {
        "user": client,
        "therapist": therapist,
        "invitee_email": client.email,
        "invitee_name": client.get_full_name(),
        "calendly_event_uri": f"https://api.calendly.com/scheduled_events/{key}",
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=therapist.session_minutes),
        "status": status or AppointmentStatus.SCHEDULED,
        "location": "zoom",
        "zoom_meeting_url": "https://zoom.us/j/0000000000",
    }
    uri = f"https://api.calendly.com/scheduled_events/{key}/invitees/{key}"
    if move:
        return AppointmentData.objects.update_or_create(calendly_invitee_uri=uri, defaults=fields)[0]
    return AppointmentData.objects.get_or_create(calendly_invitee_uri=uri, defaults=fields)[0]


def seed_workspace(*, stdout) -> None:
    therapist = TherapistProfile.objects.filter(user__email="clinician@bloom.test").select_related("user").first()
    if therapist is None:
        stdout.write("appointments: no demo clinician login, no workspace demo")
        return
    zone = zoneinfo.ZoneInfo(therapist.timezone)
    today = timezone.localtime(timezone.now(), zone).date()
    clients = [demo_member_ensure(email=email, first_name=first, last_name=last) for email, first, last in DEMO_CLIENTS]
    for n, (who, days, hour, status) in enumerate(UPCOMING):
        _session(
            therapist=therapist, client=clients[who], key=f"DEMO-WS-{n}", day=today + timedelta(days=days),
            hour=hour, zone=zone, status=status, move=True,
        )  # fmt: skip
    past = [
        _session(
            therapist=therapist,
            client=clients[who],
            key=f"DEMO-WS-PAST-{n}",
            day=today + timedelta(days=days),
            hour=hour,
            zone=zone,
            status=status,
            move=False,
        )  # fmt: skip
        for n, (who, days, hour, status) in enumerate(PAST)
    ]
    author = therapist.user
    if not SessionNote.objects.filter(appointment=past[0]).exists():
        note = notes.session_note_draft_save(
            appointment=past[0], author=author, body=SIGNED_NOTE, template=NoteTemplate.SOAP
        )
        notes.session_note_sign(note=note, signer=author)
        notes.session_note_addendum_add(note=note, author=author, body=ADDENDUM)
    if not SessionNote.objects.filter(appointment=past[1]).exists():
        notes.session_note_draft_save(appointment=past[1], author=author, body=DRAFT_NOTE, template=NoteTemplate.DAP)
    stdout.write(
        f"appointments: {therapist}'s workspace has {len(UPCOMING)} sessions this week, a signed note with "
        "an addendum and a draft (clinician@bloom.test; the practice calendar: manager@bloom.test)"
    )
