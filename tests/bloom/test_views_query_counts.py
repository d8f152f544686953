"""Every member page's query count, pinned, and unchanged as her history grows.

Each page is fetched once to warm the session, then measured for a member with a little
history and again after more rows of every kind were added (hers and other members'). A
page whose count grows with the data has an N+1; a page whose count moves when code changes
has to be re-pinned here on purpose. The completeness check makes a new member page either
pinned here or listed as not-a-page (a POST action, a file download, a public link).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import UserProfile
from tests.factories.accounts import UserFactory, WellnessEntryFactory
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory
from tests.factories.billing import PaymentIntentFactory
from tests.factories.courses import (
    CourseCertificateFactory,
    CourseEnrollmentFactory,
    CourseFactory,
    CourseLessonFactory,
    CourseModuleFactory,
)
from tests.factories.notifications import UserNotificationFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory

pytestmark = pytest.mark.django_db

MEMBER_NAMESPACES = ("accounts", "courses", "workshops", "appointments", "billing", "notifications")

# URL names in those namespaces that are not pages a member reads: actions (POST, then a
# redirect), file downloads, links in mail and public pages measured with the public site.
NOT_A_MEMBER_PAGE = {
    "accounts:data_request_create",  # POST from the profile page
    "accounts:policies_agree",  # only shown when a text changed; tests/accounts/test_consent_signup_and_policies.py
    "accounts:telehealth_consent",  # POST from the session page
    "accounts:data_request_download",
    "accounts:pause_end",  # POST from the break page and the dashboard banner
    "accounts:care_assignment_done",  # POST from the dashboard's "From your therapist"
    "accounts:care_progress_share",  # POST from the dashboard's "From your therapist"
    "accounts:calendar_feed",  # read by her phone's calendar, no session; pinned in tests/accounts/test_views_calendar.py
    "accounts:calendar_feed_turn_on",  # POST from the security page
    "accounts:calendar_feed_rotate",  # confirmation step; pinned in tests/accounts/test_views_calendar.py
    "accounts:calendar_feed_turn_off",  # confirmation step; pinned in tests/accounts/test_views_calendar.py
    "accounts:staff_invitation_accept",  # a staff invitee's page, not a member's; pinned in tests/accounts/test_staff_invitations.py
    "workshops:registration_calendar",  # .ics download
    "appointments:appointment_calendar",  # .ics download
    "appointments:receipt_pdf",  # PDF download; pinned in tests/appointments/test_documents_views.py
    "appointments:superbill_pdf",  # PDF download; pinned in tests/appointments/test_documents_views.py
    "workshops:registration_cancel",
    "billing:stripe_webhook",
    "workshops:zoom_webhook",
    "appointments:calendly_webhook",
    "accounts:screening_share",
    "accounts:screening_skip",
    "accounts:screening_result",  # reached only from a submitted screening; pinned in accounts' tests
    "courses:resource_download",
    "courses:certificate_pdf",
    "courses:certificate_verify",
    "courses:course_enroll",
    "courses:lesson_progress",
    "workshops:workshop_register",
    "workshops:feedback_submit",
    "workshops:waitlist_accept",
    "workshops:registration_pay",
    "workshops:resource_download",
    "billing:checkout_return",
    "billing:refund_request",
    "billing:payment_complete",
    "billing:card_add",  # starts a Stripe SetupIntent; billing's tests fake Stripe for it
    "appointments:book_card",  # starts a Stripe SetupIntent; tests/appointments/test_booking_gate.py fakes Stripe
    "appointments:book_calendly",  # a redirect to Calendly once the gate is passed
    "appointments:gfe_pdf",  # the PDF download; pinned in tests/appointments/test_booking_gfe.py
    "billing:card_remove",
    "billing:card_make_default",
    "accounts:wellness_share",  # POST only
    "notifications:notification_mark_read",
    "notifications:notification_mark_all_read",
    "notifications:track_open",
    "notifications:track_click",
    "notifications:unsubscribe",
}


@dataclass
class History:
    member: object
    course: object
    lesson: object
    enrollment: object
    certificate: object
    workshop: object
    appointment: object
    payment: object
    extra: list = field(default_factory=list)


def _history() -> History:
    member = UserFactory()
    course = CourseFactory(price=0)
    module = CourseModuleFactory(course=course)
    lesson = CourseLessonFactory(module=module)
    enrollment = CourseEnrollmentFactory(user=member, course=course)
    certificate = CourseCertificateFactory(user=member)
    workshop = WorkshopFactory()
    WorkshopRegistrationFactory(user=member, workshop=workshop)
    appointment = AppointmentDataFactory(user=member, therapist=TherapistProfileFactory())
    payment = PaymentIntentFactory(user=member, paid=True)
    UserNotificationFactory(user=member)
    WellnessEntryFactory(user=member, entry_date=timezone.localdate())
    return History(member, course, lesson, enrollment, certificate, workshop, appointment, payment)


def _grow(history: History) -> None:
    """More of every kind: the member's own rows and other members' rows."""
    member = history.member
    for days in range(1, 4):
        module = CourseModuleFactory(course=history.course)
        CourseLessonFactory(module=module)
        CourseEnrollmentFactory(user=member)
        WorkshopRegistrationFactory(user=member)
        AppointmentDataFactory(user=member)
        PaymentIntentFactory(user=member, paid=True)
        UserNotificationFactory(user=member)
        WellnessEntryFactory(user=member, entry_date=timezone.localdate() - timedelta(days=days))
        other = UserFactory()
        CourseEnrollmentFactory(user=other, course=history.course)
        PaymentIntentFactory(user=other, paid=True)


# url name -> (kwargs from the history, queries). Counts include the session and the user (with her
# profile, accounts/backends.py), with the cache warm: what `bloom.cache.kept` keeps (the bell's
# unread count on every page, the dashboard's rare reads) is counted by the cold-cache tests.
PINNED = {
    # session, user with profile, suggestions, courses, workshops, sessions, check-ins, notices
    # with the bell's count, billing with what needs action, her pause; the kept reads (weekly
    # consistency, achievements, the blog's newest posts) cost 3 more when not in the cache
    "accounts:dashboard": (lambda h: {}, 10),
    "accounts:onboarding": (lambda h: {}, 3),  # measured for a member who has not finished it
    "accounts:profile": (lambda h: {}, 4),
    "accounts:security": (lambda h: {}, 4),  # + her calendar feed
    "accounts:pause": (lambda h: {}, 3),
    "accounts:consents": (lambda h: {}, 3),
    "accounts:consent_withdraw": (lambda h: {"what": "marketing"}, 3),
    "accounts:privacy": (lambda h: {}, 2),
    "accounts:terms": (lambda h: {}, 2),
    "accounts:wellness": (lambda h: {}, 6),
    "accounts:wellness_summary": (lambda h: {}, 4),  # the PDF download
    "accounts:screening": (lambda h: {}, 3),
    "accounts:screening_take": (lambda h: {"instrument": "epds"}, 2),
    "accounts:screening_timeline": (lambda h: {}, 3),
    "accounts:screening_support": (lambda h: {}, 4),
    "courses:course_list": (lambda h: {}, 5),  # + the page count and her marks (enrolled / in progress / finished)
    "courses:course_detail": (lambda h: {"slug": h.course.slug}, 7),
    # the course page's reads with the lesson's slides, then one statement records the view
    # (courses/services/progress.py lesson_view_record)
    "courses:lesson_detail": (lambda h: {"slug": h.course.slug, "lesson_id": h.lesson.pk}, 8),
    "courses:enrollment_detail": (lambda h: {"enrollment_id": h.enrollment.pk}, 6),
    "courses:certificate_detail": (lambda h: {"certificate_id": h.certificate.pk}, 3),
    "workshops:workshop_list": (lambda h: {}, 5),  # + the page count
    "workshops:workshop_detail": (lambda h: {"slug": h.workshop.slug}, 7),
    "appointments:appointment_list": (lambda h: {}, 4),
    "appointments:therapist_list": (lambda h: {}, 3),
    "appointments:team": (lambda h: {}, 3),  # public too; one query for every therapist
    "appointments:appointment_detail": (
        lambda h: {"appointment_id": h.appointment.pk},
        6,
    ),  # + estimate, receipt, telehealth consent
    "appointments:documents": (lambda h: {}, 4),  # +3 once she paid (tests/appointments/test_documents_views.py)
    "appointments:therapist_detail": (lambda h: {"therapist_id": h.appointment.therapist_id}, 4),  # + her hours
    "appointments:book": (lambda h: {"therapist_id": h.appointment.therapist_id}, 6),  # card, policy, estimate
    "appointments:appointment_cancel": (lambda h: {"appointment_id": h.appointment.pk}, 3),
    "appointments:appointment_reschedule": (lambda h: {"appointment_id": h.appointment.pk}, 3),
    "billing:billing_home": (lambda h: {}, 7),
    "billing:receipt": (lambda h: {"payment_id": h.payment.pk}, 4),
    "notifications:notification_list": (lambda h: {}, 3),
}


def _member_url_names() -> set[str]:
    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name and namespace in MEMBER_NAMESPACES:
                names.add(f"{namespace}:{pattern.name}")

    walk(get_resolver().url_patterns, None)
    return names


def test_every_member_page_is_pinned_or_named_as_not_a_page():
    names = _member_url_names()
    assert names, "the URLconf walk found no member pages"
    unaccounted = names - set(PINNED) - NOT_A_MEMBER_PAGE
    assert not unaccounted, f"pin these pages' query counts in {__name__}: {sorted(unaccounted)}"
    stale = (set(PINNED) | NOT_A_MEMBER_PAGE) - names
    assert not stale, f"these URL names no longer exist: {sorted(stale)}"


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_member_page_query_count_is_pinned_and_does_not_grow(client, name):
    kwargs_for, expected = PINNED[name]
    history = _history()
    if name == "accounts:onboarding":
        UserProfile.objects.filter(user=history.member).update(onboarding_completed=False)
    client.force_login(history.member)
    url = reverse(name, kwargs=kwargs_for(history))
    client.get(url)  # warm the session and any per-process caches
    small = _count(client, url)
    _grow(history)
    client.get(url)  # the new rows dropped the kept reads (bloom.cache.kept): fill them again
    large = _count(client, url)
    assert large == small, f"{name}: {small} queries with a little history, {large} with more"
    assert small == expected, f"{name}: {small} queries, pinned at {expected}"


def _cold_then_warm(client, name: str) -> tuple[int, int]:
    """A page's queries with the cache just emptied, then on the next visit."""
    from tests.conftest import _cache_clear

    client.force_login(_history().member)
    url = reverse(name)
    client.get(url)
    _cache_clear()
    return _count(client, url), _count(client, url)


def test_a_page_with_a_cold_cache_reads_the_bells_count_once(client):
    """The bell's unread count is kept (notifications.selectors.notification_unread_count):
    one query more on the first page, none on the next."""
    pinned = PINNED["accounts:privacy"][1]
    assert _cold_then_warm(client, "accounts:privacy") == (pinned + 1, pinned)


def test_dashboard_cold_cache_query_count(client):
    """The kept reads are 3 queries when the cache is empty (first visit, or Redis away)."""
    pinned = PINNED["accounts:dashboard"][1]
    assert _cold_then_warm(client, "accounts:dashboard") == (pinned + 3, pinned)


# --- The clinician's workspace (staff pages in the admin, appointments/workspace.py) -----------

# page -> (url from the practice, queries). Counts include the admin's session, user, MFA and
# permission reads and the audit middleware's writes.
STAFF_PINNED = {
    "workspace": (lambda p: reverse("admin:appointments_therapistprofile_workspace"), 8),  # profiles + the week
    # member, sessions, payments, 2 consents, screenings, check-ins, suggestions + the audit row
    # and its READ row in the audit trail (bloom/audit.py)
    "chart": (lambda p: reverse("admin:appointments_therapistprofile_chart", args=[p.member.pk]), 18),
    "calendar": (lambda p: reverse("admin:appointments_therapistprofile_calendar"), 9),  # sessions + therapists
    # + versions, the activity-log row and the audit trail's READ row
    "note": (lambda p: reverse("admin:appointments_sessionnote_change", args=[p.note.pk]), 17),
}


def _grow_practice(practice) -> None:
    """More sessions this week for her and another clinician, payments, check-ins and versions."""
    from appointments import notes
    from tests.appointments.support_workspace import practice_for
    from tests.factories.appointments import AppointmentPaymentFactory

    other = practice_for("Other")
    now = timezone.now()
    for days_ago, hours in enumerate((-30, -2, 3, 26), start=1):
        for therapist in (practice.therapist, other.therapist):
            starts = now + timedelta(hours=hours)
            appointment = AppointmentDataFactory(
                therapist=therapist, user=practice.member, starts_at=starts, ends_at=starts + timedelta(minutes=50)
            )
            AppointmentPaymentFactory(appointment=appointment)
        WellnessEntryFactory(user=practice.member, entry_date=timezone.localdate() - timedelta(days=days_ago))
    notes.session_note_draft_save(appointment=practice.appointment, author=practice.client.user, body="Again.")


@pytest.mark.parametrize("page", sorted(STAFF_PINNED))
def test_workspace_page_query_count_is_pinned_and_does_not_grow(settings, page):
    from accounts.services import wellness_share_set
    from tests.appointments.support_workspace import practice_for

    settings.BLOOM_STAFF_MFA_REQUIRED = False
    url_for, expected = STAFF_PINNED[page]
    practice = practice_for("Ada")
    wellness_share_set(member=practice.member, shared=True)
    WellnessEntryFactory(user=practice.member, entry_date=timezone.localdate())
    url = url_for(practice)
    practice.client.get(url)
    small = _count(practice.client, url)
    _grow_practice(practice)
    large = _count(practice.client, url)
    assert large == small, f"{page}: {small} queries with a little history, {large} with more"
    assert small == expected, f"{page}: {small} queries, pinned at {expected}"


def test_the_dashboard_answers_with_redis_away_reading_its_kept_rows_again(client, monkeypatch):
    """While Redis is away bloom.cache answers like an empty cache that keeps nothing
    (tests/bloom/test_redis_outage.py); the dashboard then reads what it keeps each time."""
    from django.core.cache import cache

    history = _history()
    client.force_login(history.member)
    url = reverse("accounts:dashboard")
    client.get(url)
    monkeypatch.setattr(cache, "get", lambda key, default=None, version=None: default)
    monkeypatch.setattr(cache, "set", lambda *args, **kwargs: None)
    counts = {_count(client, url) for _ in range(2)}
    assert counts == {PINNED["accounts:dashboard"][1] + 3}
