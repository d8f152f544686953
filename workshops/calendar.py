"""Workshops in her calendar: the calendar source registered with accounts, and the .ics download.

One event per workshop she signed up for (UID from the workshop and the member, so cancelling and
signing up again replaces the same event). The Zoom link goes in only while she holds a seat that
needs no payment; a waitlist place is not in her calendar (docs/calendar.md).
"""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from accounts.calendar import CalendarEvent, calendar_ics
from accounts.models import User
from bloom.downloads import file_response
from bloom.links import absolute_reverse

from .models import PaymentStatus, RegistrationStatus, WorkshopRegistration, WorkshopStatus

IN_CALENDAR = (RegistrationStatus.REGISTERED, RegistrationStatus.ATTENDED, RegistrationStatus.CANCELLED)
UNPAID = (PaymentStatus.PENDING, PaymentStatus.FAILED)


def registration_event(registration: WorkshopRegistration) -> CalendarEvent:
    """Her registration as a calendar event (the registration's workshop must be loaded)."""
    workshop = registration.workshop
    cancelled = (
        registration.status == RegistrationStatus.CANCELLED
        or workshop.status == WorkshopStatus.CANCELLED
        or workshop.is_archived
    )
    holds_seat = registration.status == RegistrationStatus.REGISTERED and registration.payment_status not in UNPAID
    return CalendarEvent(
        uid=f"workshop-{workshop.pk}-member-{registration.user_id}",
        summary=f"Bloom workshop: {workshop.title}",
        starts_at=workshop.starts_at,
        ends_at=workshop.ends_at,
        changed_at=max(workshop.updated_at, registration.updated_at),
        detail_url=absolute_reverse("workshops:workshop_detail", workshop.slug),
        join_url=workshop.zoom_join_url if holds_seat and not cancelled else "",
        place="Online (Zoom)",
        cancelled=cancelled,
    )


def workshop_calendar_source(*, member: User, since: datetime.datetime) -> list[CalendarEvent]:
    """Her workshops ending after `since`, one query; of several sign-ups for one, the live one."""
    registrations = (
        WorkshopRegistration.objects.filter(user=member, status__in=IN_CALENDAR, workshop__ends_at__gte=since)
        .select_related("workshop")
        .order_by("registered_at")
    )
    events: dict[str, CalendarEvent] = {}
    for registration in registrations:
        event = registration_event(registration)
        if event.uid not in events or events[event.uid].cancelled:
            events[event.uid] = event
    return list(events.values())


@login_required
@require_GET
def registration_calendar(request: HttpRequest, registration_id) -> HttpResponse:
    """The .ics for one of her registrations; another member's answers 404."""
    registration = (
        WorkshopRegistration.objects.filter(pk=registration_id, user=request.user, status__in=IN_CALENDAR)
        .select_related("workshop")
        .first()
    )
    if registration is None:
        raise Http404("No such registration.")
    body = calendar_ics(member=request.user, events=[registration_event(registration)], name="Bloom workshop")
    return file_response(
        body, content_type="text/calendar; charset=utf-8", filename=f"{registration.workshop.slug}.ics"
    )
