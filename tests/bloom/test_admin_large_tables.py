"""Admin lists of tables that grow by the million (issue 18 point 3, docs/adr/0430)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

import bloom.admin
from accounts.models import User
from bloom.admin import LargeTablePaginator
from tests.appointments.support_workspace import staff_login
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def _analyze(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{table}"')


def test_the_whole_table_is_counted_from_statistics_and_a_filtered_list_up_to_the_cap(monkeypatch):
    monkeypatch.setattr(bloom.admin, "COUNT_CAP", 5)
    UserFactory.create_batch(12)
    _analyze("users")
    whole = LargeTablePaginator(User.objects.order_by("email"), 100)
    assert whole.count == User.objects.count() and whole.estimated and not whole.capped
    filtered = LargeTablePaginator(User.objects.filter(is_active=True).order_by("email"), 100)
    assert filtered.count == 5 and filtered.capped and not filtered.estimated
    few = LargeTablePaginator(User.objects.filter(pk=User.objects.first().pk), 100)
    assert few.count == 1 and not (few.capped or few.estimated)


def test_a_small_table_is_counted_exactly(monkeypatch):
    UserFactory.create_batch(3)
    _analyze("users")
    paginator = LargeTablePaginator(User.objects.order_by("email"), 100)
    assert paginator.count == User.objects.count() and not (paginator.estimated or paginator.capped)


def test_the_list_says_about_and_more_than(monkeypatch):
    monkeypatch.setattr(bloom.admin, "COUNT_CAP", 5)
    client = staff_login("owner")
    UserFactory.create_batch(8, first_name="Maya")
    _analyze("users")
    url = reverse("admin:accounts_user_changelist")
    whole = client.get(url).content.decode()
    assert f"about {User.objects.count()} users" in " ".join(whole.split())
    searched = " ".join(client.get(url, {"q": "maya"}).content.decode().split())
    assert "more than 5 users" in searched


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda: User.objects.filter(email__icontains="scale-12"), "users_email_search_idx"),
        (lambda: User.objects.filter(email__iexact="Scale-12@Scale.Bloom.Test"), "users_email_upper_idx"),
        (lambda: User.objects.filter(last_name__icontains="okafor"), "users_last_search_idx"),
    ],
)
def test_the_admin_search_and_the_webhooks_email_match_read_an_index(queryset, index):
    """The expression the indexes hold is the one Django writes for `icontains` and `iexact`
    (UPPER("col"::text)), so the planner can use them (seq scans are switched off to ask)."""
    sql, params = queryset().order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@pytest.mark.parametrize(
    ("url_name", "table"),
    [
        ("admin:bloom_auditentry_changelist", "audit_trail"),
        ("admin:content_analyticsevent_changelist", "analytics_events"),
        ("admin:notifications_emailqueue_changelist", "email_queue"),
        ("admin:appointments_appointmentdata_changelist", "appointment_data"),
    ],
)
def test_the_largest_lists_read_no_distinct_over_their_table(url_name, table):
    """No date hierarchy (a DISTINCT over every row's year) and no filter built from a
    DISTINCT over a column: 4 s and 1.9 s on the audit trail at 100x."""
    from django.test.utils import CaptureQueriesContext

    client = staff_login("owner")
    UserFactory.create_batch(2)  # rows in the trail
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    distinct = [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"] and f'"{table}"' in q["sql"]]
    assert not distinct, distinct


def test_the_trail_filters_by_the_audited_tables(client):
    from bloom.audit import audited_tables

    owner = staff_login("owner")
    page = owner.get(reverse("admin:bloom_auditentry_changelist")).content.decode()
    assert "?table_name=contact_submissions" in page
    assert len(audited_tables()) > 50
    filtered = owner.get(reverse("admin:bloom_auditentry_changelist"), {"table_name": "users"})
    assert filtered.status_code == 200
    assert all(row.table_name == "users" for row in filtered.context["cl"].result_list)


# --- Lists at 100x: a page read in order from an index, searches each branch of which an index
# serves (docs/adr/0450) ---------------------------------------------------------------------


def _list_query(client, url_name: str, table: str, **params) -> tuple[str, object]:
    """The changelist's query of its page's rows, and the response."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    page = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'SELECT "{table}".')]
    assert page, [q["sql"] for q in queries.captured_queries]
    return page[0], response


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def _one_row_each() -> None:
    from tests.factories.content import AnalyticsEventFactory, SubscriberFactory
    from tests.factories.courses import CourseProgressFactory
    from tests.factories.notifications import EmailQueueFactory
    from tests.factories.workshops import WorkshopRegistrationFactory

    CourseProgressFactory()  # with its enrollment
    AnalyticsEventFactory()
    EmailQueueFactory()
    SubscriberFactory()
    WorkshopRegistrationFactory()


@pytest.mark.parametrize(
    ("url_name", "table", "index"),
    [
        ("admin:courses_usercoursestats_changelist", "user_course_stats", "course_enrollments_enrolled"),
        ("admin:courses_courseenrollment_changelist", "course_enrollments", "course_enrollments_enrolled"),
        ("admin:courses_courseprogress_changelist", "course_progress", "course_progress_viewed_idx"),
        ("admin:content_analyticsevent_changelist", "analytics_events", "analytics_events_created_idx"),
        ("admin:content_subscriber_changelist", "subscribers", "subscribers_email_lower_uniq"),
        ("admin:workshops_workshopregistration_changelist", "workshop_registrations", "workshop_reg_registered_idx"),
    ],
)
def test_a_large_list_reads_its_page_in_order_from_an_index(url_name, table, index):
    """The list's order is one an index holds, so PostgreSQL reads a page of rows instead of
    sorting them all (the stats view sorted 300,000 rows' computed last activity: 84 s at 100x)."""
    client = staff_login("owner")
    _one_row_each()
    sql, _ = _list_query(client, url_name, table)
    plan = _plan(sql if " LIMIT " in sql else f"{sql} LIMIT 50")  # one row: the list read it whole
    assert index in plan and "Seq Scan" not in plan.split(index)[0].splitlines()[-1], plan


def test_a_search_across_a_relation_matches_her_rows_by_id_without_a_join():
    from tests.factories.courses import CourseEnrollmentFactory

    client = staff_login("owner")
    first = CourseEnrollmentFactory(user__email="maya.okafor@example.com")
    hers = [first, CourseEnrollmentFactory(user=first.user)]
    CourseEnrollmentFactory(user__email="someone.else@example.com")
    sql, response = _list_query(client, "admin:courses_courseenrollment_changelist", "course_enrollments", q="OKAFOR")
    assert {row.pk for row in response.context["cl"].result_list} == {e.pk for e in hers}
    assert '"user_id" IN (' in sql and 'JOIN "users"' not in sql.split("WHERE")[1], sql


def test_more_related_matches_than_it_reads_says_so_on_the_page(monkeypatch):
    from tests.factories.courses import CourseEnrollmentFactory

    monkeypatch.setattr(bloom.admin, "RELATED_MATCHES", 2)
    client = staff_login("owner")
    for n in range(3):
        CourseEnrollmentFactory(user__email=f"maya{n}@example.com")
    response = client.get(reverse("admin:courses_courseenrollment_changelist"), {"q": "maya"}, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert any(s.startswith("More than 2 users match “maya”") for s in said), said
    assert len(response.context["cl"].result_list) == 2


def test_exact_search_fields_match_the_whole_term_as_typed():
    from tests.factories.notifications import EmailQueueFactory

    client = staff_login("owner")
    mail = EmailQueueFactory(to_email="maya@example.com")
    EmailQueueFactory(to_email="maya.other@example.com")
    url = reverse("admin:notifications_emailqueue_changelist")
    found = client.get(url, {"q": "maya@example.com"}).context["cl"].result_list
    assert [row.pk for row in found] == [mail.pk]
    assert not client.get(url, {"q": "maya@"}).context["cl"].result_list  # a part finds nothing
    by_id = client.get(url, {"q": mail.message_id}).context["cl"].result_list
    assert [row.pk for row in by_id] == [mail.pk]


def test_the_trail_search_for_a_row_reads_the_record_index():
    from bloom.models import AuditEntry

    client = staff_login("owner")
    member = UserFactory()
    sql, response = _list_query(client, "admin:bloom_auditentry_changelist", "audit_trail", q=str(member.pk))
    rows = response.context["cl"].result_list
    assert rows and all(
        str(member.pk) in (row.row_pk, str(row.actor_user_id), str(row.subject_user_id)) for row in rows
    )
    assert AuditEntry.objects.filter(table_name="users", row_pk=str(member.pk)).exists()
    assert "audit_trail_record" in _plan(sql)


def test_a_count_column_counts_the_page_rows_only_and_sorts():
    from tests.factories.courses import CourseEnrollmentFactory, CourseFactory

    client = staff_login("owner")
    busy, quiet = CourseFactory(title="Busy"), CourseFactory(title="Quiet")
    CourseEnrollmentFactory.create_batch(3, course=busy)
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:courses_course_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"o": "-5"})  # by enrollments, most first
    rows = list(response.context["cl"].result_list)
    assert [(c.pk, c.enrollments_count) for c in rows[:2]] == [(busy.pk, 3), (quiet.pk, 0)]
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert all("course_enrollments" not in sql for sql in counts), counts
