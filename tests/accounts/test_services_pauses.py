"""A "life happened" pause: drips, sequence steps and course expiries move by exactly the pause, no
nudge or newsletter reaches her while it lasts, and appointments and their reminders carry on."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import MemberPause, MemberScreeningPoint
from accounts.selectors import member_pause_get_active, pause_shifted
from accounts.services import member_pause_end, member_pause_start, screening_reminders_send
from appointments.reminders import appointment_reminder_send
from bloom.exceptions import ApplicationError
from content import services as content_services
from content.models import CampaignStatus
from courses.selectors import course_outline_get
from notifications.models import EmailQueue, EnrollmentStatus
from notifications.services import email_enqueue, sequence_enrollments_advance
from tests.factories.accounts import MemberPauseFactory, ScreeningSchedulePointFactory, UserFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory
from tests.factories.courses import (
    CourseEnrollmentFactory,
    CourseFactory,
    CourseLessonFactory,
    CourseModuleFactory,
)
from tests.factories.notifications import EmailSequenceEnrollmentFactory, SequenceEmailFactory

pytestmark = pytest.mark.django_db

THREE_WEEKS = datetime.timedelta(weeks=3)


@pytest.fixture
def member():
    user = UserFactory()
    user.profile.marketing_consent = True
    user.profile.save()
    return user


def _drip_course(member, *, enrolled_days_ago: int, drip_days: int):
    course = CourseFactory()
    opened = CourseModuleFactory(course=course, drip_days=None, position=1)
    dripping = CourseModuleFactory(course=course, drip_days=drip_days, position=2)
    for module in (opened, dripping):
        CourseLessonFactory(module=module)
    enrolled_at = timezone.now() - datetime.timedelta(days=enrolled_days_ago)
    CourseEnrollmentFactory(user=member, course=course, enrolled_at=enrolled_at)
    return course, enrolled_at


def _opens(course, member):
    outline = course_outline_get(slug=course.slug, member=member)
    return [module.opens_at for module in outline.modules], [module.locked for module in outline.modules]


def test_three_weeks_move_a_drip_a_sequence_step_and_a_course_expiry_by_exactly_three_weeks(member):
    course, enrolled_at = _drip_course(member, enrolled_days_ago=2, drip_days=9)
    due = enrolled_at + datetime.timedelta(days=9)
    assert _opens(course, member) == ([None, due], [False, True])
    expiring = CourseEnrollmentFactory(
        user=member,
        course=CourseFactory(access_days=90),
        access_expires_at=timezone.now() + datetime.timedelta(days=60),
    )
    expires = expiring.access_expires_at
    step_due = timezone.now() + datetime.timedelta(days=2)
    sequence_step = EmailSequenceEnrollmentFactory(user=member, email=member.email, next_due_at=step_due)

    member_pause_start(member=member, weeks=3)

    assert _opens(course, member) == ([None, due + THREE_WEEKS], [False, True])
    sequence_step.refresh_from_db()
    assert sequence_step.next_due_at == step_due + THREE_WEEKS
    expiring.refresh_from_db()
    assert expiring.access_expires_at == expires + THREE_WEEKS


def test_what_was_already_open_stays_open(member):
    course, _ = _drip_course(member, enrolled_days_ago=30, drip_days=23)
    # The second module opened 23 days after enrolling: a week ago. A pause now does not close it.
    opens_before, locked_before = _opens(course, member)
    member_pause_start(member=member, weeks=3)
    assert _opens(course, member) == (opens_before, locked_before) and locked_before == [False, False]


def test_no_sequence_step_is_queued_during_the_pause_and_it_comes_after(member):
    # A three-week pause that began 22 days ago, with a step that was due a day into it.
    start = timezone.now() - datetime.timedelta(days=22)
    step = SequenceEmailFactory()
    enrollment = EmailSequenceEnrollmentFactory(
        sequence=step.sequence, user=member, email=member.email, next_due_at=start + datetime.timedelta(days=1)
    )
    member_pause_start(member=member, weeks=3, now=start)
    enrollment.refresh_from_db()
    assert enrollment.next_due_at == start + datetime.timedelta(days=22)
    for day in (1, 7, 14, 20):
        assert sequence_enrollments_advance(now=start + datetime.timedelta(days=day)) == 0
    assert not EmailQueue.objects.filter(to_email=member.email).exists()
    sequence_enrollments_advance()
    enrollment.refresh_from_db()
    assert EmailQueue.objects.filter(to_email=member.email, sequence_step=step).count() == 1
    assert enrollment.status == EnrollmentStatus.COMPLETED


def test_no_newsletter_or_nudge_is_queued_to_her_while_she_is_away(member):
    member_pause_start(member=member, weeks=3)
    SubscriberFactory(email=member.email)
    other = SubscriberFactory()
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING)
    assert content_services.campaign_send(campaign=campaign) == 1
    assert list(EmailQueue.objects.filter(campaign_id=campaign.pk).values_list("to_email", flat=True)) == [other.email]
    nudge = email_enqueue(to=member.email, user=member, subject="A lesson for you", text_body="x", priority=90)
    assert nudge is None


def test_appointment_reminders_and_account_mail_carry_on_during_a_pause(member):
    member_pause_start(member=member, weeks=3)
    appointment = AppointmentDataFactory(user=member, starts_at=timezone.now() + datetime.timedelta(minutes=50))
    assert appointment_reminder_send(appointment=appointment, kind="2h")
    assert EmailQueue.objects.filter(to_email=member.email, category="clinical").count() == 1
    assert email_enqueue(to=member.email, user=member, subject="Your receipt", text_body="x") is not None


def test_screening_points_wait_while_she_is_away():
    def postpartum():
        user = UserFactory()
        user.profile.stage = "postpartum"
        user.profile.baby_birth_date = timezone.localdate() - datetime.timedelta(weeks=7, days=3)
        user.profile.save()
        return user

    away, here = postpartum(), postpartum()
    ScreeningSchedulePointFactory(week=7, instrument="gad7", window_weeks=2)
    member_pause_start(member=away, weeks=2)
    assert screening_reminders_send() >= 1
    assert MemberScreeningPoint.objects.filter(user=here).exists()
    assert not MemberScreeningPoint.objects.filter(user=away).exists()


def test_coming_back_early_moves_things_back_by_the_part_not_taken_and_never_into_the_past(member):
    start = timezone.now()
    step_due = start + datetime.timedelta(days=2)
    soon = EmailSequenceEnrollmentFactory(user=member, email=member.email, next_due_at=step_due)
    later = EmailSequenceEnrollmentFactory(
        user=member, email=member.email, next_due_at=start + datetime.timedelta(days=30)
    )
    member_pause_start(member=member, weeks=3, now=start)
    back = start + datetime.timedelta(days=5)
    pause = member_pause_end(member=member, now=back)
    assert pause.ended_at == back and pause.duration == datetime.timedelta(days=5)
    soon.refresh_from_db()
    later.refresh_from_db()
    # Moved by the five days taken: the two-day step falls due on the day she is back, not before.
    assert soon.next_due_at == step_due + datetime.timedelta(days=5)
    assert later.next_due_at == start + datetime.timedelta(days=35)
    assert member_pause_get_active(member=member, now=back) is None


def test_one_pause_at_a_time_and_only_the_lengths_offered(member):
    member_pause_start(member=member, weeks=3)
    with pytest.raises(ApplicationError, match="already taking a break"):
        member_pause_start(member=member, weeks=1)
    with pytest.raises(ApplicationError, match="between 1 and 12 weeks"):
        member_pause_start(member=UserFactory(), weeks=52)
    assert member_pause_end(member=UserFactory()) is None


def test_pauses_add_up_and_a_date_pushed_into_a_later_pause_moves_again():
    now = timezone.now()
    first = MemberPauseFactory.build(starts_at=now, ends_at=now + datetime.timedelta(days=7))
    second = MemberPauseFactory.build(
        starts_at=now + datetime.timedelta(days=10), ends_at=now + datetime.timedelta(days=20)
    )
    assert pause_shifted(now - datetime.timedelta(days=1), pauses=[first, second]) == now - datetime.timedelta(days=1)
    # Day 5 moves past the first pause to day 12, which falls in the second: day 22.
    assert pause_shifted(now + datetime.timedelta(days=5), pauses=[second, first]) == now + datetime.timedelta(days=22)


def test_why_she_paused_is_encrypted_at_rest(member):
    pause = member_pause_start(member=member, weeks=2, reason="A loss")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM member_pauses WHERE id = %s", [pause.pk])
        stored = cursor.fetchone()[0]
    assert "loss" not in stored.lower()
    assert MemberPause.objects.get(pk=pause.pk).reason == "A loss"


def test_her_export_holds_her_breaks_and_deletion_erases_them(member):
    from accounts.selectors import member_data_export
    from accounts.services import member_anonymize

    member_pause_start(member=member, weeks=2, reason="A birth")
    exported = member_data_export(member=member)["pauses"]
    assert [row["reason"] for row in exported] == ["A birth"] and exported[0]["ended_at"] is None
    member_anonymize(member=member)
    assert not MemberPause.objects.filter(user=member).exists()
