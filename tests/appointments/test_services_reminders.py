"""Appointment reminders: due windows, preferences, exactly once, logged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import UserPreferences
from appointments import services
from appointments.models import AppointmentReminderLog, AppointmentStatus
from notifications.models import EmailQueue, UserNotification
from tests.factories.appointments import AppointmentDataFactory

pytestmark = pytest.mark.django_db


def _appointment(hours_ahead: float, **kwargs):
    starts_at = timezone.now() + timedelta(hours=hours_ahead)
    return AppointmentDataFactory(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50), **kwargs)


def test_day_before_reminder_sends_portal_notice_and_clinical_email_once():
    appointment = _appointment(20)
    assert services.appointment_reminders_send() == 1
    assert services.appointment_reminders_send() == 0  # a second beat run sends nothing

    notice = UserNotification.objects.get(user=appointment.user)
    assert notice.type == "appointment_reminder"
    assert notice.title == "Your session tomorrow"
    email = EmailQueue.objects.get(user=appointment.user)
    assert email.category == "clinical"
    assert email.to_email == appointment.user.email
    assert "Reminder: your Bloom session tomorrow" in email.subject
    assert appointment.zoom_meeting_url in email.text_body
    logs = {(log.kind, log.channel): log for log in AppointmentReminderLog.objects.filter(appointment=appointment)}
    assert set(logs) == {("24h", "portal"), ("24h", "email")}
    assert logs[("24h", "email")].email_queue_id == email.pk
    assert logs[("24h", "portal")].notification_id == notice.pk


def test_send_for_an_already_logged_reminder_is_refused_by_the_log():
    appointment = _appointment(20)
    assert services.appointment_reminder_send(appointment=appointment, kind="24h") is True
    assert services.appointment_reminder_send(appointment=appointment, kind="24h") is False
    assert UserNotification.objects.count() == 1
    assert EmailQueue.objects.count() == 1


def test_hour_before_reminder_follows_the_day_before_one():
    appointment = _appointment(20)
    services.appointment_reminders_send()
    later = timezone.now() + timedelta(hours=19, minutes=30)
    assert services.appointment_reminders_send(now=later) == 1
    kinds = sorted(
        AppointmentReminderLog.objects.filter(appointment=appointment, channel="portal").values_list("kind", flat=True)
    )
    assert kinds == ["1h", "24h"]
    assert services.appointment_reminders_send(now=later) == 0


@pytest.mark.parametrize("hours_ahead", [30, -1])
def test_sessions_outside_the_windows_get_nothing(hours_ahead):
    _appointment(hours_ahead)
    assert services.appointment_reminders_send() == 0
    assert not AppointmentReminderLog.objects.exists()
    assert not EmailQueue.objects.exists()


def test_cancelled_sessions_and_unlinked_bookings_get_nothing():
    _appointment(5, status=AppointmentStatus.CANCELLED)
    _appointment(5, user=None, invitee_email="guest@example.com")
    assert services.appointment_reminders_send() == 0
    assert not UserNotification.objects.exists()


def test_member_who_turned_reminders_off_gets_nothing():
    appointment = _appointment(5)
    UserPreferences.objects.filter(user=appointment.user).update(appointment_reminders=False)
    assert services.appointment_reminders_send() == 0
    assert not UserNotification.objects.exists()
    assert not EmailQueue.objects.exists()


def test_portal_only_member_gets_a_notice_but_no_email():
    appointment = _appointment(5)
    UserPreferences.objects.filter(user=appointment.user).update(notification_channel="portal")
    assert services.appointment_reminders_send() == 1
    assert UserNotification.objects.filter(user=appointment.user).count() == 1
    assert not EmailQueue.objects.exists()
    assert list(AppointmentReminderLog.objects.values_list("channel", flat=True)) == ["portal"]


def test_reminder_time_is_shown_in_the_members_time_zone():
    appointment = _appointment(5)
    appointment.user.profile.timezone = "Europe/London"
    appointment.user.profile.save(update_fields=["timezone"])
    services.appointment_reminders_send()
    notice = UserNotification.objects.get()
    local = timezone.localtime(appointment.starts_at, __import__("zoneinfo").ZoneInfo("Europe/London"))
    assert f"{local:%-I:%M %p}" in notice.message
    assert local.tzname() in notice.message
