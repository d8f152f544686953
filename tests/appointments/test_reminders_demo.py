from io import StringIO

import pytest
from django.core.management import call_command

from appointments.demo_reminders import DEMO_INVITEE
from appointments.models import AppointmentData, AppointmentReminderLog
from notifications.models import UserNotification

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_reminded_session_and_calendly_links_and_seeding_twice_adds_nothing():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)

    session = AppointmentData.objects.get(calendly_invitee_uri=DEMO_INVITEE)
    assert session.user.email == "member@bloom.test"
    assert AppointmentReminderLog.objects.filter(appointment=session, kind="48h", channel="portal").count() == 1
    assert UserNotification.objects.filter(user=session.user, type="appointment_reminder").count() == 1
    mine = AppointmentData.objects.filter(user=session.user)
    assert mine.count() >= 2
    assert all(a.calendly_cancel_url and a.calendly_reschedule_url for a in mine)
    assert "demo reminder session exists" in out.getvalue()
