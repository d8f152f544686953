"""Quiet hours: a member's newsletters and gentle nudges wait until her quiet hours end, in her own
time zone; crisis alerts, clinical mail (appointment reminders) and account mail never wait."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from accounts.services import risk_alert_raise
from appointments.reminders import appointment_reminder_send
from content import services as content_services
from content.models import CampaignStatus
from notifications.drain import email_queue_drain
from notifications.models import EmailCategory, EmailPriority, EmailQueue
from notifications.selectors import mail_may_wait, quiet_hours_release_get
from notifications.services import email_enqueue
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def _quiet(user, *, start=datetime.time(21, 0), end=datetime.time(8, 0), zone="America/New_York"):
    user.preferences.quiet_hours = True
    user.preferences.quiet_hours_start = start
    user.preferences.quiet_hours_end = end
    user.preferences.save()
    user.profile.timezone = zone
    user.profile.save()
    return user


def _at(zone, *args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zone)


# --- When quiet hours end -------------------------------------------------------------------------


def test_late_evening_waits_until_eight_the_next_morning_in_her_zone():
    member = _quiet(UserFactory())
    release = quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 12, 2, 23, 30))
    assert release == _at(NEW_YORK, 2026, 12, 3, 8, 0)


def test_small_hours_wait_until_eight_the_same_morning():
    member = _quiet(UserFactory())
    release = quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 12, 3, 2, 15))
    assert release == _at(NEW_YORK, 2026, 12, 3, 8, 0)


def test_outside_quiet_hours_nothing_waits():
    member = _quiet(UserFactory())
    for when in (
        _at(NEW_YORK, 2026, 12, 3, 8, 0),
        _at(NEW_YORK, 2026, 12, 3, 14, 0),
        _at(NEW_YORK, 2026, 12, 3, 20, 59),
    ):
        assert quiet_hours_release_get(user=member, when=when) == when


def test_the_start_is_inside_and_the_end_is_outside():
    member = _quiet(UserFactory())
    assert quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 12, 2, 21, 0)) == _at(NEW_YORK, 2026, 12, 3, 8)


def test_quiet_hours_off_no_preferences_or_no_user_mean_no_wait():
    member = _quiet(UserFactory())
    member.preferences.quiet_hours = False
    member.preferences.save()
    when = _at(NEW_YORK, 2026, 12, 2, 23, 30)
    assert quiet_hours_release_get(user=member, when=when) == when
    assert quiet_hours_release_get(user=None, when=when) == when
    without = UserFactory()
    without.preferences.delete()
    without = type(without).objects.get(pk=without.pk)
    assert quiet_hours_release_get(user=without, when=when) == when


def test_a_daytime_window_holds_until_its_end():
    member = _quiet(UserFactory(), start=datetime.time(13, 0), end=datetime.time(15, 30))
    assert quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 12, 2, 14, 0)) == _at(
        NEW_YORK, 2026, 12, 2, 15, 30
    )
    assert quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 12, 2, 23, 0)) == _at(
        NEW_YORK, 2026, 12, 2, 23, 0
    )


def test_the_release_is_eight_local_across_a_daylight_saving_change():
    # US clocks went back at 02:00 on 1 November 2026: 08:00 that morning is 13:00 UTC, not 12:00.
    member = _quiet(UserFactory())
    release = quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 10, 31, 23, 0))
    assert release == datetime.datetime(2026, 11, 1, 13, 0, tzinfo=datetime.UTC)


def test_her_own_zone_counts_not_the_servers():
    member = _quiet(UserFactory(), zone="Europe/London")
    # 23:30 in New York is 04:30 in London: inside her quiet hours, released at 08:00 London.
    release = quiet_hours_release_get(user=member, when=_at(NEW_YORK, 2026, 12, 2, 23, 30))
    assert release == _at(ZoneInfo("Europe/London"), 2026, 12, 3, 8, 0)


def test_an_unknown_zone_falls_back_to_utc():
    member = _quiet(UserFactory(), zone="Mars/Olympus")
    release = quiet_hours_release_get(user=member, when=datetime.datetime(2026, 12, 2, 22, tzinfo=datetime.UTC))
    assert release == datetime.datetime(2026, 12, 3, 8, tzinfo=datetime.UTC)


def test_only_marketing_and_low_priority_mail_may_wait():
    assert mail_may_wait(category=EmailCategory.MARKETING, priority=EmailPriority.LOW)
    assert mail_may_wait(category=EmailCategory.TRANSACTIONAL, priority=EmailPriority.LOW)
    assert not mail_may_wait(category=EmailCategory.TRANSACTIONAL, priority=EmailPriority.NORMAL)
    assert not mail_may_wait(category=EmailCategory.CLINICAL, priority=EmailPriority.LOW)
    assert not mail_may_wait(category=EmailCategory.MARKETING, priority=EmailPriority.HIGH)


# --- Through the outbox ---------------------------------------------------------------------------


def _quiet_now(user):
    """Quiet hours that hold right now in her zone (from an hour ago to two hours ahead)."""
    local = timezone.now().astimezone(NEW_YORK)
    start = (local - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    _quiet(user, start=start, end=end)
    local_end = datetime.datetime.combine(local.date(), end, tzinfo=NEW_YORK)
    if local_end <= local:
        local_end += datetime.timedelta(days=1)
    return local_end


def test_a_newsletter_waits_for_the_end_of_her_quiet_hours_and_is_not_drained_before(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    member = UserFactory()
    member.profile.marketing_consent = True
    member.profile.save()
    release = _quiet_now(member)
    SubscriberFactory(email=member.email.upper())
    other = SubscriberFactory()
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING)

    assert content_services.campaign_send(campaign=campaign) == 2
    held = EmailQueue.objects.get(campaign_id=campaign.pk, to_email=member.email)
    assert held.scheduled_at == release
    email_queue_drain()
    assert [m.to for m in mail.outbox] == [[other.email]]


def test_a_crisis_alert_never_waits_for_the_clinicians_quiet_hours():
    clinician = _quiet(UserFactory(is_staff=True))
    _quiet_now(clinician)
    member = UserFactory()
    member.profile.care_clinician = clinician
    member.profile.save()
    before = timezone.now()
    alert = risk_alert_raise(member=member, source="wellness_note", reason="test")
    row = EmailQueue.objects.get(to_email=clinician.email)
    assert row.priority == EmailPriority.HIGH and row.category == EmailCategory.CLINICAL
    assert before <= row.scheduled_at <= timezone.now()
    assert alert.assigned_clinician == clinician


def test_an_appointment_reminder_in_quiet_hours_goes_out_at_once():
    member = UserFactory()
    _quiet_now(member)
    appointment = AppointmentDataFactory(user=member, starts_at=timezone.now() + datetime.timedelta(minutes=50))
    before = timezone.now()
    assert appointment_reminder_send(appointment=appointment, kind="2h")
    row = EmailQueue.objects.get(to_email=member.email)
    assert before <= row.scheduled_at <= timezone.now()


def test_account_mail_and_low_priority_nudges_are_treated_apart():
    member = UserFactory()
    release = _quiet_now(member)
    account = email_enqueue(to=member.email, user=member, subject="Confirm your email", text_body="x")
    nudge = email_enqueue(
        to=member.email, user=member, subject="A lesson for this week", text_body="x", priority=EmailPriority.LOW
    )
    assert account.scheduled_at <= timezone.now()
    assert nudge.scheduled_at == release
