"""The clinician's workspace, her clients' charts and the practice manager's calendar.

Reads come first (selectors: each takes the staff member and is fenced to what she may see),
then the admin pages, mixed into the therapist admin (`WorkspaceAdminViewsMixin`):

    /admin/appointments/therapistprofile/workspace/          today and this week, own clients only
    /admin/appointments/therapistprofile/chart/<member id>/  one client's chart (an audited health read)
    /admin/appointments/therapistprofile/calendar/           day or week across clinicians

A clinician (staff who may read session notes and is not an owner) sees only her own clients:
members with a session with her or whose profile names her as their clinician
(accounts.care_team). Another clinician's client, note or appointment is a 404. ADR 0215.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.care_team import members_in_care_q
from accounts.models import User
from accounts.selectors import (
    care_assignment_list_for_member,
    care_progress_shared_get,
    screening_response_list_for_member,
    wellness_entry_list_for_member,
    wellness_share_active,
)
from accounts.services import health_read_record
from bloom.admin import AdminViewsMixin

from .attendance import marks_available
from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentStatus,
    PaymentStatus,
    SessionNote,
    TherapistProfile,
)

NOTE_PERMISSION = "appointments.view_sessionnote"
CALENDAR_PERMISSION = "appointments.view_appointmentdata"
# A rescheduled booking was replaced by its new one, which is the one to show.
HIDDEN_STATUSES = (AppointmentStatus.RESCHEDULED,)
CHART_LIMIT = 50


# --- The fence --------------------------------------------------------------------------------


def clinician_fence_q(*, staff_user, prefix: str = "") -> Q | None:
    """A filter for appointments (at `prefix`) a clinician may see: her own sessions and every
    session of a member in her care. None when she is not limited: owners and superusers, and
    staff without clinical access (support, the practice manager), whose role already keeps notes
    and screening answers from them."""
    if not staff_user.has_perm(NOTE_PERMISSION):
        return None
    care = members_in_care_q(staff_user=staff_user, prefix=f"{prefix}user__")
    if care is None:
        return None
    return care | Q(**{f"{prefix}therapist__user": staff_user})


def appointment_queryset_for_staff(queryset: QuerySet, *, staff_user) -> QuerySet:
    """`queryset` of appointments narrowed to what `staff_user` may open."""
    fence = clinician_fence_q(staff_user=staff_user)
    return queryset if fence is None else queryset.filter(fence)


def session_note_queryset_for_staff(queryset: QuerySet, *, staff_user) -> QuerySet:
    """`queryset` of session notes narrowed to the notes of sessions `staff_user` may open."""
    fence = clinician_fence_q(staff_user=staff_user, prefix="appointment__")
    return queryset if fence is None else queryset.filter(fence)


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_current_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


def _midnight(day: datetime.date, zone) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)


def client_name(appointment: AppointmentData) -> str:
    user = appointment.user
    if user is not None:
        return user.get_full_name() or user.email
    return appointment.invitee_name or appointment.invitee_email or "Unknown client"


# --- The workspace ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    appointment: AppointmentData
    starts: datetime.datetime  # in the reader's zone
    ends: datetime.datetime
    client: str
    note: SessionNote | None
    # The attendance marks she may record from the workspace now, as (mark, label); her own
    # sessions only (appointments/attendance.py `marks_available`; no query).
    marks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Workspace:
    therapists: list[TherapistProfile]
    zone: zoneinfo.ZoneInfo
    today: datetime.date
    today_rows: list[SessionRow]
    week: list[tuple[datetime.date, list[SessionRow]]]  # the other days of this week, Monday first

    @property
    def week_count(self) -> int:
        return len(self.today_rows) + sum(len(rows) for _, rows in self.week)

    @property
    def later(self) -> list[tuple[datetime.date, list[SessionRow]]]:
        """The days after today, this week (what she prepares for)."""
        return [(day, rows) for day, rows in self.week if day > self.today]

    @property
    def earlier(self) -> list[tuple[datetime.date, list[SessionRow]]]:
        """The days before today, this week (attendance and notes still to finish)."""
        return [(day, rows) for day, rows in self.week if day < self.today]


def _note_of(appointment: AppointmentData) -> SessionNote | None:
    try:
        return appointment.session_note
    except SessionNote.DoesNotExist:
        return None


def _rows(appointments, zone, *, marks_at: datetime.datetime | None = None) -> list[SessionRow]:
    return [
        SessionRow(
            appointment=a,
            starts=timezone.localtime(a.starts_at, zone),
            ends=timezone.localtime(a.ends_at, zone),
            client=client_name(a),
            note=_note_of(a),
            marks=tuple(marks_available(appointment=a, now=marks_at)) if marks_at else (),
        )
        for a in appointments
    ]


def workspace_get(*, staff_user: User, now: datetime.datetime | None = None) -> Workspace:
    """Her sessions today and this week (Monday to Sunday in her own time zone, her therapist
    profile's), soonest first, with each session's client and note (never its body).

    Two queries whatever the number of sessions: her therapist profiles, then the week's sessions.
    """
    now = now or timezone.now()
    therapists = list(TherapistProfile.objects.filter(user=staff_user).order_by("created_at"))
    zone = _zone(therapists[0].timezone if therapists else None)
    today = timezone.localtime(now, zone).date()
    monday = today - datetime.timedelta(days=today.weekday())
    if not therapists:
        return Workspace(therapists=[], zone=zone, today=today, today_rows=[], week=[])
    appointments = (
        AppointmentData.objects.filter(
            therapist__in=therapists,
            starts_at__gte=_midnight(monday, zone),
            starts_at__lt=_midnight(monday + datetime.timedelta(days=7), zone),
        )
        .exclude(status__in=HIDDEN_STATUSES)
        .select_related("user", "session_note")
        .defer("session_note__body")
        .order_by("starts_at")
    )
    by_day: dict[datetime.date, list[SessionRow]] = {monday + datetime.timedelta(days=i): [] for i in range(7)}
    for row in _rows(appointments, zone, marks_at=now):
        by_day[row.starts.date()].append(row)
    today_rows = by_day.pop(today)
    return Workspace(therapists=therapists, zone=zone, today=today, today_rows=today_rows, week=list(by_day.items()))


# --- The client's chart --------------------------------------------------------------------


@dataclass(frozen=True)
class ClientChart:
    member: User
    zone: zoneinfo.ZoneInfo
    appointments: list[SessionRow]
    payments: list[AppointmentPayment]
    screenings: list
    wellness_shared: bool
    wellness: list
    progress_shared: bool
    assignments: list = field(default_factory=list)

    @property
    def holds(self) -> list[AppointmentPayment]:
        """Session fees held on her card (or being confirmed with Stripe), not yet captured or released."""
        return [p for p in self.payments if p.status in {PaymentStatus.AUTHORIZED, PaymentStatus.CHECKING}]

    @property
    def fees_pending(self) -> list[AppointmentPayment]:
        """No-show and late-cancel fees waiting for the clinician to confirm or waive them."""
        return [p for p in self.payments if p.status == PaymentStatus.PENDING]


def client_chart_get(*, staff_user: User, member_id) -> ClientChart:
    """One client's chart for a clinician in her care team (or an owner): sessions with their
    attendance and notes (no bodies), payments and holds, screening scores, the check-ins she
    shares (none unless she shares them now), and what her clinicians suggested (her progress
    only if she shares it). Raises User.DoesNotExist for a member outside the staff member's care.

    Writes no audit row: `client_chart_open` does, for the page that shows the chart.
    """
    members = User.objects.filter(pk=member_id).select_related("profile")
    care = members_in_care_q(staff_user=staff_user)
    member = (members if care is None else members.filter(care)).get()
    zone = timezone.get_current_timezone()
    appointments = (
        AppointmentData.objects.filter(user=member)
        .select_related("user", "therapist", "session_note")
        .defer("session_note__body")
        .order_by("-starts_at")[:CHART_LIMIT]
    )
    payments = list(
        AppointmentPayment.objects.filter(user=member)
        .select_related("appointment")
        .order_by("-appointment__starts_at", "-created_at")[:CHART_LIMIT]
    )
    wellness_shared = wellness_share_active(member=member)
    progress_shared = care_progress_shared_get(member=member)
    return ClientChart(
        member=member,
        zone=zone,
        appointments=_rows(appointments, zone),
        payments=payments,
        screenings=screening_response_list_for_member(member=member, limit=20)[::-1],
        wellness_shared=wellness_shared,
        wellness=wellness_entry_list_for_member(member=member, limit=14) if wellness_shared else [],
        progress_shared=progress_shared,
        assignments=care_assignment_list_for_member(member=member),
    )


def client_chart_open(*, staff_user: User, member_id, request=None) -> ClientChart:
    """The chart, after writing the `view_health` audit row for this opening (always one row)."""
    chart = client_chart_get(staff_user=staff_user, member_id=member_id)
    health_read_record(staff_user=staff_user, obj=chart.member, request=request)
    return chart


# --- The practice calendar -----------------------------------------------------------------


@dataclass(frozen=True)
class CalendarRow:
    therapist: TherapistProfile
    cells: list[list[SessionRow]]  # one list per day shown

    @property
    def count(self) -> int:
        return sum(len(cell) for cell in self.cells)


@dataclass(frozen=True)
class PracticeCalendar:
    view: str  # "day" or "week"
    days: list[datetime.date]
    zone: zoneinfo.ZoneInfo
    rows: list[CalendarRow]
    previous: datetime.date
    next: datetime.date

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)


def practice_calendar_get(
    *, staff_user: User, view: str = "week", day: datetime.date | None = None
) -> PracticeCalendar:
    """Sessions per clinician for one day or one week (Monday first), in the reader's time zone
    (the request's active zone), with no clinical content: time, client and status only.
    Fenced like every appointment read (a clinician sees her own clients only). Two queries."""
    view = "day" if view == "day" else "week"
    zone = timezone.get_current_timezone()
    day = day or timezone.localdate()
    start = day if view == "day" else day - datetime.timedelta(days=day.weekday())
    length = 1 if view == "day" else 7
    days = [start + datetime.timedelta(days=i) for i in range(length)]
    appointments = appointment_queryset_for_staff(
        AppointmentData.objects.filter(
            therapist__isnull=False,
            starts_at__gte=_midnight(start, zone),
            starts_at__lt=_midnight(start + datetime.timedelta(days=length), zone),
        ).exclude(status__in=HIDDEN_STATUSES),
        staff_user=staff_user,
    ).select_related("user")
    appointments = appointments.only(
        "id", "therapist_id", "starts_at", "ends_at", "status", "invitee_name", "invitee_email",
        "user__id", "user__email", "user__first_name", "user__last_name",
    ).order_by("starts_at")  # fmt: skip
    cells: dict[object, dict[datetime.date, list[SessionRow]]] = {}
    for appointment in appointments:
        row = SessionRow(
            appointment=appointment,
            starts=timezone.localtime(appointment.starts_at, zone),
            ends=timezone.localtime(appointment.ends_at, zone),
            client=client_name(appointment),
            note=None,
        )
        cells.setdefault(appointment.therapist_id, {}).setdefault(row.starts.date(), []).append(row)
    therapists = TherapistProfile.objects.order_by("display_name")
    rows = [CalendarRow(therapist=t, cells=[cells.get(t.pk, {}).get(d, []) for d in days]) for t in therapists]
    return PracticeCalendar(
        view=view,
        days=days,
        zone=zone,
        rows=rows,
        previous=start - datetime.timedelta(days=length),
        next=start + datetime.timedelta(days=length),
    )


# --- The admin pages -----------------------------------------------------------------------


class FencedAdminMixin:
    """A row outside the fence (or none) is a 404, not Django's redirect to the admin index with
    "doesn't exist. Perhaps it was deleted?", which would also say the id is worth guessing."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} of yours has that id.")


def _day_param(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


class WorkspaceAdminViewsMixin(AdminViewsMixin):
    """The workspace, chart and calendar pages (on the therapist admin, behind the admin login)."""

    admin_views = [
        ("workspace/", "workspace_view", "workspace"),
        ("chart/<uuid:member_id>/", "chart_view", "chart"),
        ("calendar/", "calendar_view", "calendar"),
    ]

    def _page(self, request, template: str, title: str, **context):
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.opts, **context}
        return TemplateResponse(request, f"admin/appointments/workspace/{template}", context)

    def workspace_view(self, request):
        if not request.user.has_perm(NOTE_PERMISSION):
            raise PermissionDenied
        return self._page(request, "workspace.html", "Your sessions", workspace=workspace_get(staff_user=request.user))

    def chart_view(self, request, member_id):
        if not request.user.has_perm(NOTE_PERMISSION):
            raise PermissionDenied
        try:
            chart = client_chart_open(staff_user=request.user, member_id=member_id, request=request)
        except User.DoesNotExist:
            raise Http404("No client of yours has that id.") from None
        name = chart.member.get_full_name() or chart.member.email
        return self._page(request, "chart.html", f"Chart: {name}", chart=chart)

    def calendar_view(self, request):
        if not request.user.has_perm(CALENDAR_PERMISSION):
            raise PermissionDenied
        calendar = practice_calendar_get(
            staff_user=request.user, view=request.GET.get("view", "week"), day=_day_param(request.GET.get("day"))
        )
        title = "Sessions this day" if calendar.view == "day" else "Sessions this week"
        return self._page(request, "calendar.html", title, calendar=calendar)
