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
