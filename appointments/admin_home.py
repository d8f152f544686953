"""appointments' cards on the admin home (bloom/admin_home.py): today's sessions, Calendly's webhook events."""

from __future__ import annotations

from django.urls import reverse

from bloom.admin_home import Card, Line, local_day_bounds, webhook_card

from . import webhooks
from .models import AppointmentData, AppointmentStatus
from .workspace import CALENDAR_PERMISSION, HIDDEN_STATUSES, clinician_fence_q


def _session_lines(request):
    """Today's sessions in the reader's time zone. A clinician (a reader the appointment fence
    limits) counts her own and goes to her workspace; others count the practice's and go to the
    practice calendar's day."""
    start, end = local_day_bounds()
    sessions = AppointmentData.objects.filter(therapist__isnull=False, starts_at__gte=start, starts_at__lt=end).exclude(
        status__in=[*HIDDEN_STATUSES, AppointmentStatus.CANCELLED]
    )
    if clinician_fence_q(staff_user=request.user) is not None:
        sessions = sessions.filter(therapist__user=request.user)
        url = reverse("admin:appointments_therapistprofile_workspace")
    else:
        url = f"{reverse('admin:appointments_therapistprofile_calendar')}?view=day&day={start.date().isoformat()}"
    count = sessions.count()
    return [Line(label=f"{count} {'session' if count == 1 else 'sessions'} today", url=url, count=count)]


CARDS = [
    Card("sessions-today", "Today's sessions", CALENDAR_PERMISSION, _session_lines, order=15),
    webhook_card(webhooks.PROVIDER, order=71),
]
