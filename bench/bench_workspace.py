"""Workspace benchmark: the clinician's day view and the practice calendar at 20 clinicians x 40 sessions a week.

Every figure is a median over many requests, reported as a ratio to a baseline timed in the
same process and run, alternating with it (baseline, measured, measured, baseline, ...):

- the clinician's workspace (today and this week, her own clients only) vs a minimal view
  through the same middleware and client, logged in as the same clinician;
- the practice manager's week calendar (every clinician's sessions) vs the same minimal view.

Target (issue 18 point 3, staff pages): within 3x, here against the minimal view, which is
stricter than the bare one-query admin page the admin lists are compared with.

The query count of each page is measured with a little data (one clinician, a few sessions), at
20 x 40, and after another week of sessions is added on each side: the three must be equal.

Creates and drops its own scratch database named after DATABASE_URL's (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_workspace.py
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from datetime import timedelta

from support import alternating, baseline_line, minimal, print_sections, ratio_line, scratch_database, setup_environment

# isort: split
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone

STAFF_PAGE_TARGET = 3.0  # issue 18 point 3
CLINICIANS = 20
SESSIONS_A_WEEK = 40
CLIENTS_EACH = 10
REQUESTS = 60
WARMUP = 5
ZONE = "America/Los_Angeles"

urlpatterns = [
    path("bench/minimal/", minimal),
    path("", include("bloom.urls")),
]


def _staff(email: str, role_slug: str):
    from accounts.models import AdminRole, AdminUser, User
    from accounts.services import admin_user_role_set, member_records_ensure

    user = User.objects.create_user(email, password="x" * 12, is_staff=True, first_name=email.split("@")[0])
    member_records_ensure(user=user)
    admin_user = AdminUser.objects.create(user=user, display_name=email)
    admin_user_role_set(admin_user=admin_user, role=AdminRole.objects.get(slug=role_slug))
    return user


def _monday(zone) -> datetime.date:
    today = timezone.localtime(timezone.now(), zone).date()
    return today - timedelta(days=today.weekday())


def _week_of_sessions(therapist, clients, monday: datetime.date, count: int, zone) -> list:
    """`count` sessions in the week from `monday`, spread over the weekdays from 8 AM."""
    from appointments.models import AppointmentData

    rows = []
    for n in range(count):
        day = monday + timedelta(days=n % 5)
        starts = datetime.datetime.combine(day, datetime.time(8 + n // 5), tzinfo=zone)
        rows.append(
            AppointmentData(
                user=clients[n % len(clients)],
                therapist=therapist,
                invitee_email=clients[n % len(clients)].email,
                calendly_invitee_uri=f"https://api.calendly.com/bench/{uuid.uuid4().hex}",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=50),
            )
        )
    return rows


def _practice(index: int, sessions: int, zone):
    """One clinician with her therapist profile, her clients and `sessions` this week."""
    from accounts.models import User
    from appointments.models import AppointmentData, TherapistProfile

    clinician = _staff(f"clinician{index}@bench.example", "clinician")
    therapist = TherapistProfile.objects.create(user=clinician, display_name=f"Clinician {index}", timezone=ZONE)
    clients = User.objects.bulk_create(
        [User(email=f"client{index}-{n}@bench.example", password="!") for n in range(CLIENTS_EACH)]
    )
    AppointmentData.objects.bulk_create(_week_of_sessions(therapist, clients, _monday(zone), sessions, zone))
    return clinician, therapist, clients


def _queries(client: Client, url: str) -> int:
    seen = []
    with connection.execute_wrapper(lambda execute, sql, *args: seen.append(sql) or execute(sql, *args)):
        assert client.get(url).status_code == 200, url
    return len(seen)


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bench_pages() -> list[str]:
    from appointments.models import AppointmentData

    zone = zoneinfo.ZoneInfo(ZONE)
    workspace = reverse("admin:appointments_therapistprofile_workspace")
    calendar = reverse("admin:appointments_therapistprofile_calendar")
    manager = _staff("manager@bench.example", "practice_manager")
    manager_client = _logged_in(manager)

    # A little data: one clinician with a few sessions.
    first, first_therapist, first_clients = _practice(0, 5, zone)
    client = _logged_in(first)
    for _ in range(WARMUP):
        client.get(workspace)
        manager_client.get(calendar)
    small = (_queries(client, workspace), _queries(manager_client, calendar))

    # 20 clinicians x 40 sessions this week.
    AppointmentData.objects.filter(therapist=first_therapist).delete()
    AppointmentData.objects.bulk_create(
        _week_of_sessions(first_therapist, first_clients, _monday(zone), SESSIONS_A_WEEK, zone)
    )
    practices = [(first_therapist, first_clients)]
    for index in range(1, CLINICIANS):
        _, therapist, clients = _practice(index, SESSIONS_A_WEEK, zone)
        practices.append((therapist, clients))
    full = (_queries(client, workspace), _queries(manager_client, calendar))

    def get(url: str, who: Client):
        def fetch(i: int) -> None:
            assert who.get(url).status_code == 200, url

        return fetch

    base, day_view, _ = alternating(get("/bench/minimal/", client), get(workspace, client), REQUESTS)
    manager_base, week_view, _ = alternating(
        get("/bench/minimal/", manager_client), get(calendar, manager_client), REQUESTS
    )

    # Another week of sessions before and after this one: nothing on the pages, same queries.
    for therapist, clients in practices:
        for weeks in (-1, 1):
            monday = _monday(zone) + timedelta(weeks=weeks)
            AppointmentData.objects.bulk_create(_week_of_sessions(therapist, clients, monday, SESSIONS_A_WEEK, zone))
    grown = (_queries(client, workspace), _queries(manager_client, calendar))
    steady = "equal" if small == full == grown else "NOT EQUAL"
    sessions = CLINICIANS * SESSIONS_A_WEEK
    return [
        baseline_line("minimal view, same middleware, clinician logged in", base),
        ratio_line(
            f"clinician's workspace (today + her {SESSIONS_A_WEEK} this week, {full[0]} queries)",
            day_view,
            day_view / base,
            "minimal view",
            target=STAFF_PAGE_TARGET,
        ),
        baseline_line("minimal view, same middleware, manager logged in", manager_base),
        ratio_line(
            f"practice week calendar ({CLINICIANS} clinicians, {sessions} sessions, {full[1]} queries)",
            week_view,
            week_view / manager_base,
            "minimal view",
            target=STAFF_PAGE_TARGET,
        ),
        f"query counts (workspace, calendar): few {small}, {CLINICIANS}x{SESSIONS_A_WEEK} {full}, "
        f"3 weeks of sessions {grown}: {steady}",
    ]


def main() -> None:
    from accounts.roles import roles_sync_defaults

    setup_environment(__name__)
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # the bench measures the pages, not the TOTP step
    with scratch_database("workspace"):
        print(
            f"Workspace bench: the clinician's day view and the practice calendar at {CLINICIANS} clinicians x "
            f"{SESSIONS_A_WEEK} sessions a week. Medians, each as a ratio to the baseline above it."
        )
        roles_sync_defaults()
        print_sections(bench_pages)


if __name__ == "__main__":
    main()
