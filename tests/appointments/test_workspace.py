"""The clinician's workspace, her clients' charts and the practice calendar, over HTTP: own clients
only (another clinician's client, note or appointment is a 404), times in the reader's zone, the
chart is an audited health read, and the practice manager sees the calendar but nothing clinical."""

from __future__ import annotations

import datetime
import zoneinfo
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AdminActivityLog, UserProfile
from accounts.services import wellness_share_set
from tests.appointments.support_workspace import Practice, practice_for, staff_login
from tests.factories.accounts import ScreeningResponseFactory, WellnessEntryFactory
from tests.factories.appointments import AppointmentDataFactory, AppointmentPaymentFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False


@pytest.fixture
def ada(db) -> Practice:
    return practice_for("Ada")


@pytest.fixture
def bea(db) -> Practice:
    return practice_for("Bea", zone="America/New_York")


WORKSPACE = reverse("admin:appointments_therapistprofile_workspace")
CALENDAR = reverse("admin:appointments_therapistprofile_calendar")


def chart_url(member) -> str:
    return reverse("admin:appointments_therapistprofile_chart", args=[member.pk])


def _today_at(zone: str, hour: int) -> datetime.datetime:
    local = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(zone))
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


# --- 404 matrix ---------------------------------------------------------------------------------


def _pages(practice) -> dict[str, str]:
    note, appointment = practice.note, practice.appointment
    return {
        "chart": chart_url(practice.member),
        "note": reverse("admin:appointments_sessionnote_change", args=[note.pk]),
        "note sign": reverse("admin:appointments_sessionnote_sign", args=[note.pk]),
        "note addendum": reverse("admin:appointments_sessionnote_addendum", args=[note.pk]),
        "appointment": reverse("admin:appointments_appointmentdata_change", args=[appointment.pk]),
    }


@pytest.mark.parametrize("page", ["chart", "note", "note sign", "appointment"])
def test_another_clinicians_client_note_and_appointment_are_404_her_own_open(ada, bea, page):
    assert ada.client.get(_pages(ada)[page]).status_code == 200
    response = bea.client.get(_pages(ada)[page])
    assert response.status_code == 404
    assert "Ada&#x27;s private note" not in response.content.decode()
    assert "Ada's private note" not in response.content.decode()


def test_a_clinician_cannot_reassign_a_booking_or_set_its_status_by_hand_an_owner_can(ada):
    url = _pages(ada)["appointment"]
    page = ada.client.get(url).content.decode()
    assert 'name="diagnosis_codes"' in page  # her codes stay editable
    for field in ("user", "therapist", "status", "policy_acceptance", "attendance_marked_at_0"):
        assert f'name="{field}"' not in page, field
    owner_page = staff_login("owner").get(url).content.decode()
    assert 'name="status"' in owner_page and 'name="user"' in owner_page


def test_another_clinician_cannot_add_an_addendum_or_sign_by_post(ada, bea):
    pages = _pages(ada)
    assert bea.client.post(pages["note sign"]).status_code == 404
    assert bea.client.post(pages["note addendum"], {"body": "not mine"}).status_code == 404
    ada.note.refresh_from_db()
    assert ada.note.status == "draft"
    assert ada.note.versions.count() == 1


def test_lists_show_only_her_own_clients_and_an_owner_sees_everyone(ada, bea):
    for model in ("appointmentdata", "sessionnote"):
        listing = ada.client.get(reverse(f"admin:appointments_{model}_changelist"))
        assert listing.context["cl"].result_count == 1
    owner = staff_login("owner")
    for page in list(_pages(ada).values())[:2] + list(_pages(bea).values())[:2]:
        assert owner.get(page).status_code == 200
    assert owner.get(reverse("admin:appointments_sessionnote_changelist")).context["cl"].result_count == 2


def test_her_profile_clinician_sees_the_chart_without_a_session(ada, bea):
    UserProfile.objects.filter(user=bea.member).update(care_clinician=ada.client.user)
    assert ada.client.get(chart_url(bea.member)).status_code == 200


# --- The chart -----------------------------------------------------------------------------------


def test_opening_a_chart_writes_one_audit_row_and_a_refused_one_none(ada, bea):
    assert ada.client.get(chart_url(ada.member)).status_code == 200
    audit = AdminActivityLog.objects.get(action="view_health")
    assert (audit.user, audit.object_type, audit.object_id) == (ada.client.user, "accounts.user", str(ada.member.pk))
    assert bea.client.get(chart_url(ada.member)).status_code == 404
    assert AdminActivityLog.objects.filter(action="view_health").count() == 1


def test_chart_shows_sessions_payments_holds_screenings_and_only_shared_check_ins(ada):
    AppointmentPaymentFactory(appointment=ada.appointment, status="authorized")
    AppointmentPaymentFactory(appointment=ada.appointment, kind="no_show_fee", status="pending")
    ScreeningResponseFactory(user=ada.member)
    shared = ScreeningResponseFactory(user=ada.member, shared_with_clinician=True)
    WellnessEntryFactory(user=ada.member, mood=2, notes="private words")
    page = ada.client.get(chart_url(ada.member)).content.decode()
    assert "Completed" in page and "Free text, draft" in page
    assert "Authorized" in page and "1 hold on her card" in page
    assert "1 fee waiting for your confirmation" in page
    assert "EPDS" in page or "PHQ" in page or "GAD" in page
    assert page.count("answers she shared") == 1  # only the shared one links to its (audited) answers
    assert reverse("admin:accounts_screeningresponse_change", args=[shared.pk]) in page
    assert "She does not share her check-ins" in page
    assert "private words" not in page

    wellness_share_set(member=ada.member, shared=True)
    page = ada.client.get(chart_url(ada.member)).content.decode()
    assert "She does not share her check-ins" not in page
    assert "<td>2</td>" in page
    assert "private words" not in page  # the free-text note stays on its own audited page


def test_chart_empty_states(ada):
    fresh = AppointmentDataFactory(therapist=ada.therapist).user
    page = ada.client.get(chart_url(fresh)).content.decode()
    assert "No payments or holds." in page
    assert "No screenings taken." in page
    assert "Nothing suggested yet." in page


# --- The workspace --------------------------------------------------------------------------------


def test_workspace_lists_her_sessions_today_and_this_week_in_her_time_zone(ada, bea):
    today_3pm = _today_at("America/Los_Angeles", 15)
    AppointmentDataFactory(therapist=ada.therapist, starts_at=today_3pm, ends_at=today_3pm + timedelta(minutes=50))
    AppointmentDataFactory(therapist=bea.therapist, starts_at=today_3pm, ends_at=today_3pm + timedelta(minutes=50))
    response = ada.client.get(WORKSPACE)
    assert response.status_code == 200
    workspace = response.context["workspace"]
    assert [row.starts.hour for row in workspace.today_rows] == [15]
    assert all(row.appointment.therapist_id == ada.therapist.pk for row in workspace.today_rows)
    page = response.content.decode()
    assert "3:00 PM" in page and "America/Los_Angeles" in page
    assert "Client of Bea" not in page
    assert reverse("admin:appointments_appointmentdata_change", args=[workspace.today_rows[0].appointment.pk]) in page
    assert chart_url(workspace.today_rows[0].appointment.user) in page
    # Yesterday's completed session is this week's unless today is Monday.
    week = sum(len(rows) for _, rows in workspace.week)
    assert workspace.week_count == 1 + week


def test_the_week_is_split_into_later_and_earlier_days_around_today(db):
    from appointments.workspace import workspace_get

    clinician = staff_login("clinician")
    TherapistProfileFactory(user=clinician.user, timezone="UTC")
    wednesday_noon = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC)
    workspace = workspace_get(staff_user=clinician.user, now=wednesday_noon)
    assert [day.isoformat() for day, _ in workspace.earlier] == ["2026-11-30", "2026-12-01"]
    assert [day.isoformat() for day, _ in workspace.later] == ["2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"]
    sunday = workspace_get(staff_user=clinician.user, now=wednesday_noon + timedelta(days=4))
    assert sunday.later == [] and len(sunday.earlier) == 6


def test_attendance_is_marked_from_the_workspace_once_the_session_has_started(db):
    from appointments.workspace import workspace_get

    clinician = staff_login("clinician")
    therapist = TherapistProfileFactory(user=clinician.user, timezone="UTC")
    wednesday_noon = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC)
    began = AppointmentDataFactory(therapist=therapist, starts_at=wednesday_noon - timedelta(minutes=5))
    later = AppointmentDataFactory(therapist=therapist, starts_at=wednesday_noon + timedelta(minutes=55))

    workspace = workspace_get(staff_user=clinician.user, now=wednesday_noon)

    marks = {row.appointment.pk: [mark for mark, _ in row.marks] for row in workspace.today_rows}
    assert marks == {began.pk: ["attended", "no_show", "late_cancelled"], later.pk: ["late_cancelled"]}


def test_the_workspace_links_each_mark_to_its_confirmation_page(db):
    clinician = staff_login("clinician")
    therapist = TherapistProfileFactory(user=clinician.user, timezone="UTC")
    # Started a second ago: on this week's page whatever the day (the week starts at midnight UTC).
    began = AppointmentDataFactory(therapist=therapist, starts_at=timezone.now() - timedelta(seconds=1))
    page = clinician.get(WORKSPACE).content.decode()
    assert reverse("admin:appointments_appointmentdata_attendance", args=[began.pk, "attended"]) in page
    assert "Mark no-show" in page


def test_workspace_empty_states(db):
    clinician = staff_login("clinician")
    assert "not linked to a therapist profile" in clinician.get(WORKSPACE).content.decode()
    TherapistProfileFactory(user=clinician.user)
    page = clinician.get(WORKSPACE).content.decode()
    assert "No sessions today." in page


def test_rescheduled_bookings_do_not_show_twice(ada):
    today = _today_at("America/Los_Angeles", 11)
    AppointmentDataFactory(
        therapist=ada.therapist, starts_at=today, ends_at=today + timedelta(minutes=50), status="rescheduled"
    )
    assert ada.client.get(WORKSPACE).context["workspace"].today_rows == []


# --- The practice manager --------------------------------------------------------------------------


def test_practice_manager_sees_the_calendar_across_clinicians_in_her_own_zone(ada, bea):
    manager = staff_login("practice_manager")
    UserProfile.objects.filter(user=manager.user).update(timezone="Europe/London")
    noon_utc = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    AppointmentDataFactory(therapist=ada.therapist, starts_at=noon_utc, ends_at=noon_utc + timedelta(minutes=50))
    day = timezone.localtime(noon_utc, zoneinfo.ZoneInfo("Europe/London")).date()
    response = manager.get(CALENDAR, {"view": "day", "day": day.isoformat()})
    assert response.status_code == 200
    calendar = response.context["calendar"]
    assert calendar.zone.key == "Europe/London"
    counts = {row.therapist.display_name: row.count for row in calendar.rows}
    assert counts == {"Dr. Ada": 1, "Dr. Bea": 0}
    page = response.content.decode()
    assert noon_utc.astimezone(zoneinfo.ZoneInfo("Europe/London")).strftime("%-I:%M") in page
    week = manager.get(CALENDAR, {"day": day.isoformat()}).context["calendar"]
    assert len(week.days) == 7 and week.days[0].weekday() == 0


def test_practice_manager_sees_no_clinical_content(ada):
    manager = staff_login("practice_manager")
    pages = _pages(ada)
    assert manager.get(pages["chart"]).status_code == 403
    assert manager.get(WORKSPACE).status_code == 403
    assert manager.get(pages["note"]).status_code == 403
    assert manager.get(reverse("admin:appointments_sessionnote_changelist")).status_code == 403
    assert manager.get(reverse("admin:accounts_screeningresponse_changelist")).status_code == 403
    appointment = manager.get(pages["appointment"])
    assert appointment.status_code == 200
    assert "private note" not in appointment.content.decode()
    assert not AdminActivityLog.objects.filter(action="view_health").exists()


def test_a_clinician_sees_only_her_own_clients_on_the_calendar(ada, bea):
    today = _today_at("America/Los_Angeles", 10)
    AppointmentDataFactory(therapist=bea.therapist, starts_at=today, ends_at=today + timedelta(minutes=50))
    calendar = ada.client.get(CALENDAR).context["calendar"]
    assert {row.therapist.display_name: row.count for row in calendar.rows}["Dr. Bea"] == 0


def test_the_admin_index_links_the_workspace_for_clinicians_and_the_calendar_for_the_manager(ada):
    page = ada.client.get(reverse("admin:index")).content.decode()
    assert WORKSPACE in page and CALENDAR in page
    manager = staff_login("practice_manager")
    page = manager.get(reverse("admin:index")).content.decode()
    assert CALENDAR in page and WORKSPACE not in page
    editor = staff_login("content_editor")
    page = editor.get(reverse("admin:index")).content.decode()
    assert CALENDAR not in page


def test_a_clinician_cannot_write_a_note_on_another_clinicians_appointment(ada, bea):
    other = AppointmentDataFactory(therapist=bea.therapist, user=bea.member)
    response = ada.client.post(
        reverse("admin:appointments_sessionnote_add"),
        {"appointment": str(other.pk), "template": "free", "body": "Not my client."},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["appointment"]
    assert not other.__class__.objects.get(pk=other.pk).session_notes_id


def test_workspace_times_are_in_the_clinicians_own_zone_not_the_servers_or_her_profiles(bea):
    UserProfile.objects.filter(user=bea.client.user).update(timezone="Europe/London")
    nine_am = _today_at("America/New_York", 9)
    AppointmentDataFactory(therapist=bea.therapist, starts_at=nine_am, ends_at=nine_am + timedelta(minutes=50))
    page = bea.client.get(WORKSPACE).content.decode()
    assert "9:00 AM–9:50 AM" in page
    assert "America/New_York" in page
