"""Appointment reminders at configurable offsets: windows, preferences, quiet hours, exactly once, logged."""

import datetime
import email
from datetime import timedelta
from decimal import Decimal
from email import policy
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import UserPreferences
from appointments import reminders
from appointments.models import AppointmentData, AppointmentReminderLog, AppointmentStatus
from notifications.models import EmailQueue, UserNotification
from tests.factories.appointments import (
    AppointmentDataFactory,
    AppointmentReminderLogFactory,
    BookingPolicyAcceptanceFactory,
    TherapistProfileFactory,
)

pytestmark = pytest.mark.django_db


def _appointment(hours_ahead: float, **kwargs):
    starts_at = (timezone.now() + timedelta(hours=hours_ahead)).replace(microsecond=0)
    return AppointmentDataFactory(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50), **kwargs)


def _at(hour: int, minute: int = 0, day: int = 10) -> datetime.datetime:
    return datetime.datetime(2030, 1, day, hour, minute, tzinfo=datetime.UTC)


def _mime(row: EmailQueue) -> email.message.EmailMessage:
    return email.message_from_string(row.mime_message, policy=policy.default)


def test_offsets_come_from_the_setting_largest_first_each_with_its_window(settings):
    settings.BLOOM_APPOINTMENT_REMINDER_OFFSETS = "30m, 1d,6h"
    assert [(o.label, o.before, o.until) for o in reminders.reminder_offsets()] == [
        ("1d", timedelta(days=1), timedelta(hours=6)),
        ("6h", timedelta(hours=6), timedelta(minutes=30)),
        ("30m", timedelta(minutes=30), timedelta(0)),
    ]


@pytest.mark.parametrize("value", ["48h,2 h", "0h", "1w", "48h,2d,2880m"])
def test_a_malformed_offset_setting_is_refused_clearly(settings, value):
    settings.BLOOM_APPOINTMENT_REMINDER_OFFSETS = value
    with pytest.raises(ImproperlyConfigured, match="BLOOM_APPOINTMENT_REMINDER_OFFSETS"):
        reminders.reminder_offsets()


def test_the_48h_reminder_sends_a_notice_and_a_clinical_email_with_join_link_policy_and_ics_once():
    therapist = TherapistProfileFactory(late_cancel_fee=Decimal("75.00"), no_show_fee=Decimal("120.00"))
    appointment = _appointment(40, therapist=therapist)
    appointment.policy_acceptance = BookingPolicyAcceptanceFactory(
        user=appointment.user, therapist=therapist, window_hours=24
    )
    appointment.save()

    assert reminders.appointment_reminders_send() == 1
    assert reminders.appointment_reminders_send() == 0  # a second beat run sends nothing

    notice = UserNotification.objects.get(user=appointment.user)
    assert notice.type == "appointment_reminder"
    local = timezone.localtime(appointment.starts_at, ZoneInfo(appointment.user.profile.timezone))
    days = (local.date() - timezone.localtime(timezone.now(), local.tzinfo).date()).days
    expected = "tomorrow" if days == 1 else f"on {local:%A}"
    assert notice.title == f"Your session {expected}"
    row = EmailQueue.objects.get(user=appointment.user)
    assert row.category == "clinical"
    assert row.subject == f"Reminder: your Bloom session {expected}"
    assert appointment.zoom_meeting_url in row.text_body
    assert "less than 24 hours before the session carries a $75.00 USD late-cancellation fee" in row.text_body
    assert "a missed session carries a $120.00 USD fee" in row.text_body
    assert f"/appointments/{appointment.pk}/" in row.text_body
    attachments = list(_mime(row).iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [("bloom-session.ics", "text/calendar")]
    assert f"UID:appointment-{appointment.pk}" in attachments[0].get_content()
    logs = {(log.kind, log.channel): log for log in AppointmentReminderLog.objects.filter(appointment=appointment)}
    assert set(logs) == {("48h", "portal"), ("48h", "email")}
    assert logs[("48h", "email")].email_queue_id == row.pk
    assert logs[("48h", "portal")].notification_id == notice.pk
    assert logs[("48h", "portal")].session_starts_at == appointment.starts_at


@pytest.mark.parametrize(
    ("now_local", "session_local", "said"),
    [
        ((9, 0), (10, 0), "in about an hour"),
        ((9, 0), (9, 30), "soon"),
        ((9, 0), (15, 0), "in about 6 hours"),
        ((23, 0), (24 + 9, 0), "tomorrow"),
        ((23, 0), (48 + 0, 30), "on Saturday"),  # 25.5 hours ahead, but two days by her calendar
    ],
)
def test_how_soon_follows_her_calendar(now_local, session_local, said):
    zone = ZoneInfo("America/New_York")
    base = datetime.datetime(2030, 1, 10, tzinfo=zone)  # a Thursday
    now = base + timedelta(hours=now_local[0], minutes=now_local[1])
    when = base + timedelta(hours=session_local[0], minutes=session_local[1])
    assert reminders._how_soon(when=when, now=now.astimezone(datetime.UTC)) == said


def test_without_an_accepted_policy_the_email_says_nothing_about_fees():
    _appointment(40)
    reminders.appointment_reminders_send()
    row = EmailQueue.objects.get()
    assert "fee" not in row.text_body


def test_the_ics_attachment_is_in_her_time_zone():
    appointment = _appointment(40)
    appointment.user.profile.timezone = "Europe/London"
    appointment.user.profile.save(update_fields=["timezone"])
    reminders.appointment_reminders_send()
    ics = next(_mime(EmailQueue.objects.get()).iter_attachments()).get_content()
    local = timezone.localtime(appointment.starts_at, ZoneInfo("Europe/London"))
    assert "BEGIN:VTIMEZONE" in ics and "TZID:Europe/London" in ics
    assert f"DTSTART;TZID=Europe/London:{local:%Y%m%dT%H%M%S}" in ics
    notice = UserNotification.objects.get()
    assert f"{local:%-I:%M %p}" in notice.message and local.tzname() in notice.message


def test_send_for_an_already_logged_reminder_is_refused_by_the_log():
    appointment = _appointment(40)
    assert reminders.appointment_reminder_send(appointment=appointment, kind="48h") is True
    assert reminders.appointment_reminder_send(appointment=appointment, kind="48h") is False
    assert UserNotification.objects.count() == 1
    assert EmailQueue.objects.count() == 1


def test_the_2h_reminder_follows_the_48h_one_and_each_goes_once():
    appointment = _appointment(40)
    reminders.appointment_reminders_send()
    later = timezone.now() + timedelta(hours=38, minutes=30)
    assert reminders.appointment_reminders_send(now=later) == 1
    kinds = sorted(
        AppointmentReminderLog.objects.filter(appointment=appointment, channel="portal").values_list("kind", flat=True)
    )
    assert kinds == ["2h", "48h"]
    assert reminders.appointment_reminders_send(now=later) == 0
    assert UserNotification.objects.filter(user=appointment.user).count() == 2


def test_a_booking_made_an_hour_ahead_gets_only_the_2h_reminder():
    appointment = _appointment(1)
    assert reminders.appointment_reminders_send() == 1
    assert list(AppointmentReminderLog.objects.filter(appointment=appointment).values_list("kind", flat=True)) == [
        "2h",
        "2h",
    ]


@pytest.mark.parametrize("hours_ahead", [50, -1])
def test_sessions_outside_the_windows_get_nothing(hours_ahead):
    _appointment(hours_ahead)
    assert reminders.appointment_reminders_send() == 0
    assert not AppointmentReminderLog.objects.exists()
    assert not EmailQueue.objects.exists()


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULED])
def test_cancelled_and_rescheduled_sessions_and_unlinked_bookings_get_nothing(status):
    _appointment(5, status=status)
    _appointment(5, user=None, invitee_email="guest@example.com")
    assert reminders.appointment_reminders_send() == 0
    assert not UserNotification.objects.exists()


def test_a_session_cancelled_after_it_was_selected_gets_nothing():
    appointment = _appointment(5)
    AppointmentData.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)
    assert reminders.appointment_reminder_send(appointment=appointment, kind="48h") is False
    assert not AppointmentReminderLog.objects.exists()
    assert not UserNotification.objects.exists()


def test_a_session_moved_in_place_gets_reminders_for_its_new_time_only():
    appointment = _appointment(30)
    assert reminders.appointment_reminders_send() == 1
    stale = AppointmentData.objects.get(pk=appointment.pk)
    moved_to = appointment.starts_at + timedelta(hours=6)
    AppointmentData.objects.filter(pk=appointment.pk).update(starts_at=moved_to, ends_at=moved_to + timedelta(hours=1))

    assert reminders.appointment_reminder_send(appointment=stale, kind="48h") is False  # the old time: nothing
    assert reminders.appointment_reminders_send() == 1  # the new time: its own 48h reminder
    times = sorted(
        AppointmentReminderLog.objects.filter(channel="portal", kind="48h").values_list("session_starts_at", flat=True)
    )
    assert times == [appointment.starts_at, moved_to]
    assert reminders.appointment_reminders_send() == 0


def test_logs_written_before_offsets_were_configurable_stay_valid_and_kinds_are_checked():
    old = AppointmentReminderLogFactory(kind="24h")
    assert old.kind == "24h"
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentReminderLogFactory(kind="tomorrow")


def test_member_who_turned_reminders_off_gets_nothing():
    appointment = _appointment(5)
    UserPreferences.objects.filter(user=appointment.user).update(appointment_reminders=False)
    assert reminders.appointment_reminders_send() == 0
    assert not UserNotification.objects.exists()
    assert not EmailQueue.objects.exists()


def test_portal_only_member_gets_a_notice_but_no_email():
    appointment = _appointment(5)
    UserPreferences.objects.filter(user=appointment.user).update(notification_channel="portal")
    assert reminders.appointment_reminders_send() == 1
    assert UserNotification.objects.filter(user=appointment.user).count() == 1
    assert not EmailQueue.objects.exists()
    assert list(AppointmentReminderLog.objects.values_list("channel", flat=True)) == ["portal"]


# --- Quiet hours (docs/adr/0210): wait for their end, or skip when that is too late -------------


def _quiet_member_session(starts_at: datetime.datetime) -> AppointmentData:
    appointment = AppointmentDataFactory(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50))
    appointment.user.profile.timezone = "UTC"
    appointment.user.profile.save(update_fields=["timezone"])
    UserPreferences.objects.filter(user=appointment.user).update(
        quiet_hours=True, quiet_hours_start=datetime.time(22, 0), quiet_hours_end=datetime.time(7, 0)
    )
    return appointment


def test_a_reminder_due_in_quiet_hours_goes_at_their_end():
    appointment = _quiet_member_session(_at(8))  # the 2h reminder falls due at 06:00, inside 22:00-07:00

    assert reminders.appointment_reminders_send(now=_at(6, 5)) == 0
    assert not AppointmentReminderLog.objects.exists()  # waiting, not decided
    assert reminders.appointment_reminders_send(now=_at(6, 55)) == 0
    assert reminders.appointment_reminders_send(now=_at(7, 0)) == 1
    assert UserNotification.objects.filter(user=appointment.user).count() == 1
    row = EmailQueue.objects.get()
    assert row.scheduled_at <= timezone.now()  # clinical mail, queued when quiet hours ended


def test_a_reminder_whose_quiet_hours_outlast_the_session_start_is_skipped_and_logged():
    appointment = _quiet_member_session(_at(6, 30))  # due 04:30, quiet until 07:00: after the start

    assert reminders.appointment_reminders_send(now=_at(4, 35)) == 0
    log = AppointmentReminderLog.objects.get(appointment=appointment)
    assert (log.kind, log.channel, log.notification_id) == ("2h", "portal", None)
    assert "quiet hours" in log.skipped_reason
    assert reminders.appointment_reminders_send(now=_at(6, 0)) == 0
    assert not UserNotification.objects.exists()
    assert not EmailQueue.objects.exists()


def test_a_48h_reminder_held_past_its_window_leaves_it_to_the_2h_one():
    appointment = _quiet_member_session(_at(8))
    # The 48h window closes at 06:00 (2h before); at 05:00 her quiet hours last until 07:00.
    assert reminders.appointment_reminders_send(now=_at(5, 0)) == 0
    assert AppointmentReminderLog.objects.get(appointment=appointment, kind="48h").skipped_reason
    assert reminders.appointment_reminders_send(now=_at(7, 0)) == 1
    assert list(
        AppointmentReminderLog.objects.filter(appointment=appointment, skipped_reason="").values_list("kind", flat=True)
    ) == ["2h", "2h"]


# Issue 18 point 5: what one reminder costs, pinned. The outer transaction is a savepoint in a
# test (2 statements); then: lock the session (with her profile and preferences), claim the
# portal log (savepoint, insert), the notice (savepoint, insert), the suppression check, the
# idempotency check, the template, the outbox row (savepoint, insert), the portal log's notice,
# the outbox row's id, the email log.
def test_one_reminder_runs_a_pinned_number_of_queries(django_assert_num_queries):
    appointment = _appointment(40)
    due = reminders.appointment_reminders_due(kind="48h", now=timezone.now()).get()

    with django_assert_num_queries(18):
        assert reminders.appointment_reminder_send(appointment=due, kind="48h")

    assert AppointmentReminderLog.objects.filter(appointment=appointment).count() == 2
    assert EmailQueue.objects.filter(user=appointment.user).count() == 1


def test_a_member_without_preferences_still_gets_the_email():
    appointment = _appointment(40)
    UserPreferences.objects.filter(user=appointment.user).delete()

    assert reminders.appointment_reminders_send() == 1
    assert EmailQueue.objects.filter(user=appointment.user, category="clinical").count() == 1
