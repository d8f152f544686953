"""Fixtures for the clinician's workspace and session-note tests: staff logins by role, and two
clinicians (Ada and Bea) each with a client, a session this week and a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from accounts.models import AdminRole, User
from accounts.roles import roles_sync_defaults
from accounts.services import admin_user_role_set
from appointments.models import AppointmentData, SessionNote, TherapistProfile
from tests.factories.accounts import AdminUserFactory, StaffUserFactory, UserFactory
from tests.factories.appointments import AppointmentDataFactory, SessionNoteFactory, TherapistProfileFactory


def staff_login(slug: str, **user_fields) -> Client:
    """A logged-in client for a new staff member with role `slug` (client.user is the user)."""
    roles_sync_defaults()
    user = StaffUserFactory(**user_fields)
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug=slug))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@dataclass
class Practice:
    therapist: TherapistProfile
    client: Client  # logged in as the therapist
    member: User
    appointment: AppointmentData
    note: SessionNote


def practice_for(name: str, *, zone: str = "America/Los_Angeles") -> Practice:
    login = staff_login("clinician", first_name=name)
    therapist = TherapistProfileFactory(user=login.user, display_name=f"Dr. {name}", timezone=zone)
    member = UserFactory(first_name=f"Client of {name}", last_name="Test")
    past = timezone.now() - timedelta(days=1)
    appointment = AppointmentDataFactory(
        user=member, therapist=therapist, starts_at=past, ends_at=past + timedelta(minutes=50), status="completed"
    )
    note = SessionNoteFactory(appointment=appointment, author=login.user, body=f"{name}'s private note on the session.")
    return Practice(therapist=therapist, client=login, member=member, appointment=appointment, note=note)
