"""Factories for workshops models: valid related rows by default."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from tests.factories.accounts import UserFactory
from workshops.models import (
    AttendanceSource,
    ConnectionEventKind,
    PaymentStatus,
    RegistrationStatus,
    UserWorkshopSeriesProgress,
    WaitlistStatus,
    Workshop,
    WorkshopAttendance,
    WorkshopConnectionEvent,
    WorkshopFeedback,
    WorkshopRegistration,
    WorkshopResource,
    WorkshopSeries,
    WorkshopStatus,
    WorkshopWaitlistEntry,
    ZoomWebhookEvent,
)


class StaffFactory(UserFactory):
    is_staff = True
    email = factory.Sequence(lambda n: f"facilitator{n}@bloom.example")


class WorkshopSeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopSeries

    title = factory.Sequence(lambda n: f"Postpartum circle {n}")
    slug = factory.Sequence(lambda n: f"postpartum-circle-{n}")
    description = "Weekly sessions for new parents."


class WorkshopFactory(factory.django.DjangoModelFactory):
    """A published, free workshop a week from now with ten seats and a Zoom meeting."""

    class Meta:
        model = Workshop

    title = factory.Sequence(lambda n: f"Coping with birth anxiety {n}")
    slug = factory.Sequence(lambda n: f"birth-anxiety-{n}")
    description = "An evening workshop."
    starts_at = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=7)).replace(second=0, microsecond=0))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=90))
    capacity = 10
    price = Decimal("0.00")
    zoom_meeting_id = factory.Sequence(lambda n: str(81000000000 + n))
    zoom_join_url = factory.LazyAttribute(lambda o: f"https://zoom.us/j/{o.zoom_meeting_id}")
    facilitator = factory.SubFactory(StaffFactory)
    status = WorkshopStatus.PUBLISHED


class WorkshopRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopRegistration

    user = factory.SubFactory(UserFactory)
    workshop = factory.SubFactory(WorkshopFactory)
    status = RegistrationStatus.REGISTERED
    payment_status = PaymentStatus.NOT_REQUIRED


class WorkshopWaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopWaitlistEntry

    workshop = factory.SubFactory(WorkshopFactory)
    user = factory.SubFactory(UserFactory)
    registration = factory.SubFactory(
        WorkshopRegistrationFactory,
        user=factory.SelfAttribute("..user"),
        workshop=factory.SelfAttribute("..workshop"),
        status=RegistrationStatus.WAITLISTED,
    )
    position = factory.Sequence(lambda n: n + 1)
    status = WaitlistStatus.WAITING


class WorkshopAttendanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopAttendance

    # Attendance is recorded after a session: by default the workshop was held two days ago.
    registration = factory.SubFactory(
        WorkshopRegistrationFactory,
        status=RegistrationStatus.ATTENDED,
        workshop__starts_at=factory.LazyFunction(
            lambda: (timezone.now() - timedelta(days=2)).replace(second=0, microsecond=0)
        ),
    )
    workshop = factory.SelfAttribute("registration.workshop")
    user = factory.SelfAttribute("registration.user")
    participant_email = factory.SelfAttribute("user.email")
    participant_name = "Participant"
    joined_at = factory.SelfAttribute("workshop.starts_at")
    left_at = factory.LazyAttribute(lambda o: o.joined_at + timedelta(minutes=60))
    duration_minutes = 60
    source = AttendanceSource.ZOOM


class WorkshopConnectionEventFactory(factory.django.DjangoModelFactory):
    """A Zoom connection's join, ten minutes into the workshop."""

    class Meta:
        model = WorkshopConnectionEvent

    workshop = factory.SubFactory(WorkshopFactory)
    participant_email = factory.Sequence(lambda n: f"participant{n}@example.com")
    participant_key = factory.LazyAttribute(lambda o: f"email:{o.participant_email}")
    participant_name = "Participant"
    connection_id = factory.Sequence(lambda n: f"1D6A0C7E-{n:04d}")
    kind = ConnectionEventKind.JOINED
    at = factory.LazyAttribute(lambda o: o.workshop.starts_at + timedelta(minutes=10))


class WorkshopFeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopFeedback

    workshop = factory.SubFactory(WorkshopFactory)
    user = factory.SubFactory(UserFactory)
    rating = 5
    comments = "Very helpful."
    would_recommend = True


class WorkshopResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopResource

    workshop = factory.SubFactory(WorkshopFactory)
    title = factory.Sequence(lambda n: f"Worksheet {n}")
    url = factory.Sequence(lambda n: f"https://files.bloom.example/worksheet-{n}.pdf")


class UserWorkshopSeriesProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserWorkshopSeriesProgress

    user = factory.SubFactory(UserFactory)
    series = factory.SubFactory(WorkshopSeriesFactory)
    sessions_attended = 0


class ZoomWebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ZoomWebhookEvent

    zoom_event_id = factory.Sequence(lambda n: f"meeting.participant_joined:{1700000000000 + n}:digest{n}")
    event_type = "meeting.participant_joined"
    event_data = factory.LazyAttribute(lambda o: {"event": o.event_type, "payload": {"object": {}}})
