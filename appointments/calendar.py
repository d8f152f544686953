"""Sessions in her calendar: the calendar source registered with accounts, and the .ics download.

One event per appointment (UID from the appointment). A Calendly reschedule closes the old booking
as "rescheduled" and makes a new one, so the old event is cancelled and the new one appears; a
session moved in place keeps its UID and gets a higher SEQUENCE (docs/calendar.md).
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

from .models import CLOSED_STATUSES, AppointmentData, AppointmentStatus


def appointment_event(appointment: AppointmentData) -> CalendarEvent:
    """Her appointment as a calendar event (its therapist must be loaded)."""
    cancelled = appointment.status in CLOSED_STATUSES
    with_whom = f" with {appointment.therapist}" if appointment.therapist else ""
    join_url = appointment.zoom_meeting_url or ""
    return CalendarEvent(
        uid=f"appointment-{appointment.pk}",
        summary=f"Bloom session{with_whom}",
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        changed_at=appointment.updated_at,
        detail_url=absolute_reverse("appointments:appointment_detail", appointment.pk),
        join_url=join_url if appointment.status == AppointmentStatus.SCHEDULED else "",
        place=appointment.location or "",
        cancelled=cancelled,
    )


def appointment_calendar_source(*, member: User, since: datetime.datetime) -> list[CalendarEvent]:
    """Her sessions ending after `since`, in one query."""
    appointments = AppointmentData.objects.filter(user=member, ends_at__gte=since).select_related("therapist")
    return [appointment_event(appointment) for appointment in appointments]


@login_required
@require_GET
def appointment_calendar(request: HttpRequest, appointment_id) -> HttpResponse:
    """The .ics for one of her sessions; another member's answers 404."""
    appointment = (
        AppointmentData.objects.filter(pk=appointment_id, user=request.user).select_related("therapist").first()
    )
    if appointment is None:
        raise Http404("No such appointment.")
    body = calendar_ics(member=request.user, events=[appointment_event(appointment)], name="Bloom session")
    return file_response(body, content_type="text/calendar; charset=utf-8", filename="bloom-session.ics")
