"""Factories for appointments models (valid related rows by default)."""

from __future__ import annotations

import uuid
from datetime import time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from appointments.models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentReminderLog,
    AppointmentStatus,
    BookingLink,
    BookingPolicyAcceptance,
    CalendlyWebhookEvent,
    GoodFaithEstimate,
    NoteStatus,
    NoteVersionKind,
    PaymentKind,
    PaymentStatus,
    ReminderChannel,
    SessionNote,
    SessionNoteVersion,
    TherapistAvailability,
    TherapistProfile,
)
from tests.factories.accounts import UserFactory


class TherapistProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TherapistProfile

    display_name = factory.Faker("name")
    credentials = "LMFT"
    calendly_user_uri = factory.LazyFunction(lambda: f"https://api.calendly.com/users/{uuid.uuid4().hex}")
    scheduling_url = factory.Sequence(lambda n: f"https://calendly.com/bloom-therapist-{n}")
    specialties = factory.LazyFunction(lambda: ["postpartum depression", "anxiety"])
    bio = "Supports parents through pregnancy and the first year."
    hourly_rate = Decimal("180.00")
    is_accepting_clients = True


class TherapistAvailabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TherapistAvailability

    therapist = factory.SubFactory(TherapistProfileFactory)
    weekday = 1
    start_time = time(9)
    end_time = time(13)


class AppointmentDataFactory(factory.django.DjangoModelFactory):
    """A scheduled session two days ahead, booked through Calendly by a member."""

    class Meta:
        model = AppointmentData

    user = factory.SubFactory(UserFactory)
    therapist = factory.SubFactory(TherapistProfileFactory)
    invitee_email = factory.LazyAttribute(lambda o: o.user.email if o.user else "guest@example.com")
    invitee_name = "Test Invitee"
    calendly_event_uri = factory.LazyFunction(lambda: f"https://api.calendly.com/scheduled_events/{uuid.uuid4().hex}")
    calendly_invitee_uri = factory.LazyAttribute(lambda o: f"{o.calendly_event_uri}/invitees/{uuid.uuid4().hex}")
    starts_at = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=2)).replace(microsecond=0))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=50))
    timezone = "America/Los_Angeles"
    status = AppointmentStatus.SCHEDULED
    location = "zoom"
    zoom_meeting_url = "https://zoom.us/j/1234567890"


class AppointmentPaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentPayment

    appointment = factory.SubFactory(AppointmentDataFactory)
    user = factory.LazyAttribute(lambda o: o.appointment.user)
    payment = None
    kind = PaymentKind.SESSION_FEE
    amount = Decimal("180.00")
    currency = "usd"
    status = PaymentStatus.AUTHORIZED
    authorized_at = factory.LazyFunction(timezone.now)


class AppointmentReminderLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentReminderLog

    appointment = factory.SubFactory(AppointmentDataFactory)
    kind = "48h"
    channel = ReminderChannel.PORTAL
    session_starts_at = factory.SelfAttribute("appointment.starts_at")


class SessionNoteFactory(factory.django.DjangoModelFactory):
    """A note on a past session, linked both ways (note.appointment and appointment.session_notes)."""

    class Meta:
        model = SessionNote
        skip_postgeneration_save = True

    appointment = factory.SubFactory(AppointmentDataFactory, status=AppointmentStatus.COMPLETED)
    therapist = factory.LazyAttribute(lambda o: o.appointment.therapist)
    author = factory.LazyAttribute(lambda o: o.therapist.user)
    body = "Discussed sleep and support at home. Plan: weekly sessions."

    @factory.post_generation
    def link(obj, create, extracted, **kwargs):
        if create:
            AppointmentData.objects.filter(pk=obj.appointment_id).update(session_notes=obj)
            # Its versions, as the services write them: the draft, and the signed text when signed.
            SessionNoteVersion.objects.create(
                note=obj, number=1, kind=NoteVersionKind.DRAFT, body=obj.body, author=obj.author
            )
            if obj.status == NoteStatus.SIGNED:
                SessionNoteVersion.objects.create(
                    note=obj, number=2, kind=NoteVersionKind.SIGNED, body=obj.body, author=obj.signed_by
                )

    class Params:
        signed = factory.Trait(
            status=NoteStatus.SIGNED,
            signed_at=factory.LazyFunction(timezone.now),
            signed_by=factory.LazyAttribute(lambda o: o.author),
        )


class SessionNoteVersionFactory(factory.django.DjangoModelFactory):
    """An addendum to a signed note (numbered after the note's existing versions)."""

    class Meta:
        model = SessionNoteVersion

    note = factory.SubFactory(SessionNoteFactory, signed=True)
    number = factory.LazyAttribute(lambda o: o.note.versions.count() + 1)
    kind = NoteVersionKind.ADDENDUM
    body = "Addendum: she called to say the new sleep plan helps."
    author = factory.LazyAttribute(lambda o: o.note.author)


class CalendlyWebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CalendlyWebhookEvent

    event_type = "invitee.created"
    event_uuid = factory.LazyAttribute(lambda o: f"{o.event_type}:https://api.calendly.com/x/{uuid.uuid4().hex}:t")
    event_data = factory.LazyAttribute(
        lambda o: {"event": o.event_type, "created_at": "2026-01-05T10:00:00.000000Z", "payload": {}}
    )


class BookingPolicyAcceptanceFactory(factory.django.DjangoModelFactory):
    """Her acceptance of a therapist's policy, with the therapist's terms copied as they stand."""

    class Meta:
        model = BookingPolicyAcceptance

    user = factory.SubFactory(UserFactory)
    therapist = factory.SubFactory(TherapistProfileFactory)
    policy_version = "2026-12"
    window_hours = factory.LazyAttribute(lambda o: o.therapist.cancellation_window_hours)
    no_show_fee = factory.LazyAttribute(lambda o: o.therapist.no_show_fee)
    late_cancel_fee = factory.LazyAttribute(lambda o: o.therapist.late_cancel_fee)
    session_fee = factory.LazyAttribute(lambda o: o.therapist.session_fee or o.therapist.hourly_rate)


class BookingLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BookingLink

    user = factory.SubFactory(UserFactory)
    therapist = factory.SubFactory(TherapistProfileFactory)
    token = factory.LazyFunction(lambda: uuid.uuid4().hex[:20])


class GoodFaithEstimateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GoodFaithEstimate

    user = factory.SubFactory(UserFactory)
    therapist = factory.SubFactory(TherapistProfileFactory)
    session_fee = Decimal("180.00")
    session_count = 12
    total = factory.LazyAttribute(lambda o: o.session_fee * o.session_count)
    service_code = "90837"
    valid_until = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=365)).date())
