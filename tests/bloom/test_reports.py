"""The admin reports (bloom/reports.py, bloom/admin_reports.py): each reporting view's figures
against a hand-built dataset, the concurrent refresh, the date filter, CSV, permissions and a
query count that does not grow with the data."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from bloom.beat import beat_schedule
from bloom.celery import app as celery_app
from bloom.report_chart import bar_chart
from bloom.reports import (
    APPOINTMENTS,
    COURSES,
    NEWSLETTER,
    REPORTS,
    REVENUE,
    WORKSHOPS,
    report_refreshed_at,
    report_section_rows,
    report_view_names,
    report_views_refresh,
)
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory
from tests.factories.content import AnalyticsEventFactory, NewsletterCampaignFactory, SubscriberFactory
from tests.factories.courses import (
    CourseCertificateFactory,
    CourseEnrollmentFactory,
    CourseFactory,
    CourseLessonFactory,
    CourseModuleFactory,
    CourseProgressFactory,
)
from tests.factories.notifications import EmailCampaignMetricFactory
from tests.factories.workshops import (
    WorkshopAttendanceFactory,
    WorkshopFactory,
    WorkshopRegistrationFactory,
    WorkshopWaitlistEntryFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
PAGE_QUERIES = 8  # every admin page's session, user (with profile) and staff checks (7), and "Figures as of"
START, END = datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)


def at(day: str, hour: int = 20) -> datetime.datetime:
    """A time on `day` that is the same day in the practice's zone (America/Los_Angeles)."""
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def rows(report, key: str, start=START, end=END) -> list[dict]:
    section = next(s for s in report.sections if s.key == key)
    return report_section_rows(section=section, start=start, end=end)


def stamp(model_object, **fields) -> None:
    """Set columns the model fills itself (created_at ...) to hand-picked values."""
    type(model_object).objects.filter(pk=model_object.pk).update(**fields)


def staff_client(*codenames: str) -> Client:
    user = StaffUserFactory()
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    client = Client()
    client.force_login(user)
    return client


# --- Figures --------------------------------------------------------------------------------


def test_revenue_by_month_and_kind_with_refunds_and_disputes():
    PaymentIntentFactory(paid=True, kind="course", amount=Decimal("100.00"), paid_at=at("2026-01-10"))
    PaymentIntentFactory(paid=True, kind="course", amount=Decimal("50.00"), paid_at=at("2026-01-20"), disputed=True)
    paid = PaymentIntentFactory(paid=True, kind="workshop", amount=Decimal("30.00"), paid_at=at("2026-02-03"))
    PaymentIntentFactory(kind="course", amount=Decimal("999.00"))  # never paid: not revenue
    refund = RefundRequestFactory(payment=paid, amount_requested=Decimal("30.00"))
    stamp(refund, status="refunded", amount_refunded=Decimal("30.00"), refunded_at=at("2026-02-05"))
    report_views_refresh()

    assert [(r["month"], r["kind"], r["payments"], r["gross"], r["disputes"]) for r in rows(REVENUE, "revenue")] == [
        ("2026-01", "course", 2, Decimal("150.00"), 1),
        ("2026-02", "workshop", 1, Decimal("30.00"), 0),
    ]
    assert rows(REVENUE, "revenue")[0]["disputed_amount"] == Decimal("50.00")
    assert [(r["month"], r["kind"], r["refunds"], r["refunded"]) for r in rows(REVENUE, "refunds")] == [
        ("2026-02", "workshop", 1, Decimal("30.00"))
    ]


def test_course_funnel_and_lesson_dropoff():
    course = CourseFactory(title="Calm after birth", slug="calm-after-birth")
    for session in ("a", "a", "b"):  # two visitors, one of them twice
        stamp(AnalyticsEventFactory(path="/courses/calm-after-birth/", session_id=session), created_at=at("2026-03-01"))
    stamp(AnalyticsEventFactory(path="/courses/calm-after-birth/enroll/"), created_at=at("2026-03-01"))  # not its page
    first = CourseLessonFactory(module=CourseModuleFactory(course=course, position=1), position=1, title="Arriving")
    second = CourseLessonFactory(module=first.module, position=2, title="Resting")
    finished = CourseEnrollmentFactory(course=course, enrolled_at=at("2026-03-02"), completed_at=at("2026-03-20"))
    started = CourseEnrollmentFactory(course=course, enrolled_at=at("2026-03-02"))
    CourseCertificateFactory(enrollment=finished, issued_at=at("2026-03-21"))
    for enrollment, lesson, done in ((finished, first, True), (finished, second, True), (started, first, False)):
        progress = CourseProgressFactory(enrollment=enrollment, lesson=lesson)
        stamp(progress, first_viewed_at=at("2026-03-03"), completed_at=at("2026-03-04") if done else None)
    revoked = CourseEnrollmentFactory(course=course, enrolled_at=at("2026-03-02"), completed_at=at("2026-03-20"))
    stamp(CourseCertificateFactory(enrollment=revoked), issued_at=at("2026-03-21"), revoked_at=at("2026-03-22"))
    report_views_refresh()

    assert [
        (r["course"], r["viewed"], r["enrolled"], r["completed"], r["certified"]) for r in rows(COURSES, "funnel")
    ] == [("Calm after birth", 2, 3, 2, 1)]
    (dropoff,) = rows(COURSES, "dropoff")
    assert (dropoff["lessons"], dropoff["first_opened"], dropoff["last_opened"]) == (2, 2, 1)
    assert (dropoff["reached_last_rate"], dropoff["completion_rate"]) == (Decimal("50.0"), Decimal("66.7"))
    assert (dropoff["steepest_lesson"], dropoff["steepest_fall"]) == ("Resting", 1)


def test_lesson_dropoff_counts_members_by_the_day_they_first_opened_a_lesson():
    course = CourseFactory(title="Gentle evenings")
    first = CourseLessonFactory(module=CourseModuleFactory(course=course, position=1), position=1, title="One")
    second = CourseLessonFactory(module=first.module, position=2, title="Two")
    # Three members open the first lesson on 31 Jan, 1 Feb and 2 Mar; two of them the second on 1 and 2 Mar.
    for opened, then in (("2026-01-31", None), ("2026-02-01", "2026-03-01"), ("2026-03-02", "2026-03-02")):
        enrollment = CourseEnrollmentFactory(course=course, enrolled_at=at(opened))
        stamp(CourseProgressFactory(enrollment=enrollment, lesson=first), first_viewed_at=at(opened), completed_at=None)
        if then:
            progress = CourseProgressFactory(enrollment=enrollment, lesson=second)
            stamp(progress, first_viewed_at=at(then), completed_at=at(then))
    report_views_refresh()

    def opened(start: str, end: str) -> tuple | None:
        found = rows(COURSES, "dropoff", datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
        return (found[0]["lessons"], found[0]["first_opened"], found[0]["last_opened"]) if found else None

    assert opened("2026-01-01", "2026-12-31") == (2, 3, 2)
    assert opened("2026-01-31", "2026-01-31") == (1, 1, 1)  # a day at a month's end
    assert opened("2026-02-01", "2026-03-01") == (2, 1, 1)  # from a month's first day across a month
    assert opened("2026-02-02", "2026-02-28") is None  # nobody first opened a lesson then
    assert opened("2026-03-02", "2027-06-30") == (2, 1, 1)  # ends after the last refreshed month
    assert opened("2025-01-01", "2026-01-30") is None  # before the first opening
    (row,) = rows(COURSES, "dropoff", datetime.date(2026, 3, 1), datetime.date(2026, 3, 2))
    assert (row["opens"], row["completions"]) == (3, 2)


def test_workshop_fill_waitlist_conversion_and_attendance():
    workshop = WorkshopFactory(title="Sleep and the newborn", capacity=4, starts_at=at("2026-04-10"))
    WorkshopRegistrationFactory.create_batch(2, workshop=workshop)
    WorkshopRegistrationFactory(workshop=workshop, status="cancelled")
    WorkshopWaitlistEntryFactory(workshop=workshop, status="accepted")
    WorkshopWaitlistEntryFactory(workshop=workshop, status="expired")
    WorkshopAttendanceFactory(registration__workshop=workshop, participant_key="zoom:1")
    WorkshopAttendanceFactory(registration__workshop=workshop, participant_key="zoom:2")
    WorkshopFactory(status="draft", starts_at=at("2026-04-11"))  # drafts are not reported
    report_views_refresh()

    (row,) = rows(WORKSHOPS, "workshops")
    assert (row["title"], row["capacity"], row["seats_taken"], row["waitlisted"], row["waitlist_converted"]) == (
        "Sleep and the newborn",
        4,
        4,  # two registered, two attended (the attendance factory's registrations)
        2,
        1,
    )
    assert row["attended"] == 2
    assert (row["fill_rate"], row["conversion_rate"], row["attendance_rate"]) == (
        Decimal("100.0"),
        Decimal("50.0"),
        Decimal("50.0"),
    )
    (month,) = rows(WORKSHOPS, "months")
    assert (month["month"], month["workshops"], month["capacity"], month["seats_taken"]) == ("2026-04", 1, 4, 4)


def test_appointment_outcomes_by_clinician():
    ana = TherapistProfileFactory(display_name="Ana Ruiz")
    for status in ("completed", "completed", "no_show", "late_cancelled", "cancelled", "scheduled", "rescheduled"):
        AppointmentDataFactory(therapist=ana, status=status, starts_at=at("2026-05-05"), ends_at=at("2026-05-05", 21))
    AppointmentDataFactory(therapist=TherapistProfileFactory(display_name="Bea Lin"), starts_at=at("2026-05-06"))
    report_views_refresh()

    by_name = {r["clinician"]: r for r in rows(APPOINTMENTS, "clinicians")}
    ana_row = by_name["Ana Ruiz"]
    assert (ana_row["booked"], ana_row["attended"], ana_row["no_shows"], ana_row["late_cancels"]) == (6, 2, 1, 1)
    assert (ana_row["cancels"], ana_row["scheduled"]) == (1, 1)
    # Rates of the five sessions whose time came (the scheduled one is still to come).
    assert (ana_row["attended_rate"], ana_row["no_show_rate"], ana_row["late_cancel_rate"]) == (
        Decimal("40.0"),
        Decimal("20.0"),
        Decimal("20.0"),
    )
    assert by_name["Bea Lin"]["booked"] == 1
    assert by_name["Bea Lin"]["attended_rate"] is None  # nothing has happened yet: no rate, not 0%


def test_newsletter_growth_and_campaign_engagement():
    stamp(SubscriberFactory(), created_at=at("2026-06-01"), confirmed_at=at("2026-06-02"))
    stamp(SubscriberFactory(status="pending"), created_at=at("2026-06-03"))
    stamp(
        SubscriberFactory(status="unsubscribed"),
        created_at=at("2026-06-01"),
        confirmed_at=at("2026-06-01"),
        unsubscribed_at=at("2026-07-01"),
    )
    campaign = NewsletterCampaignFactory(subject="=Sleep tips", status="sent", sent_at=at("2026-06-15"))
    for opened, clicked, bounced in ((True, True, False), (True, False, False), (False, False, True)):
        EmailCampaignMetricFactory(
            campaign_id=campaign.pk,
            sent_at=at("2026-06-15"),
            opened_at=at("2026-06-16") if opened else None,
            clicked_at=at("2026-06-16") if clicked else None,
            bounced_at=at("2026-06-15") if bounced else None,
        )
    NewsletterCampaignFactory(subject="Draft, never sent")
    report_views_refresh()

    growth = rows(NEWSLETTER, "growth")
    assert [(r["month"], r["signups"], r["confirmed"], r["unsubscribed"], r["bounced"]) for r in growth] == [
        ("2026-06", 3, 2, 0, 1),
        ("2026-07", 0, 0, 1, 0),
    ]
    (row,) = rows(NEWSLETTER, "campaigns")
    assert (row["subject"], row["sent"], row["opened"], row["clicked"], row["bounced"]) == ("=Sleep tips", 3, 2, 1, 1)
    assert row["opened_rate"] == Decimal("66.7")


# --- Refresh and date range ---------------------------------------------------------------


def test_every_report_view_has_a_unique_index_and_a_comment():
    names = report_view_names()
    assert {"report_revenue_daily", "report_course_funnel", "report_appointment_outcomes"} <= set(names)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, bool_or(i.indisunique), obj_description(c.oid, 'pg_class') FROM pg_class c "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid WHERE c.relkind = 'm' AND c.relname LIKE 'report\\_%%' "
            "GROUP BY c.relname, c.oid"
        )
        found = {name: (unique, comment) for name, unique, comment in cursor.fetchall()}
    assert set(found) == {*names, "report_refreshes"}
    assert all(unique and comment for unique, comment in found.values()), found


def test_figures_change_only_at_a_refresh_and_refreshed_at_moves():
    before = report_refreshed_at()
    PaymentIntentFactory(paid=True, kind="course", paid_at=at("2026-08-01"))
    assert rows(REVENUE, "revenue") == []  # the view still holds the last refresh's figures
    timings = report_views_refresh()
    assert set(timings) == {*report_view_names(), "report_refreshes"}
    assert len(rows(REVENUE, "revenue")) == 1
    assert report_refreshed_at() > before


def test_a_failed_view_leaves_refreshed_at_as_it_was(monkeypatch):
    report_views_refresh()
    before = report_refreshed_at()
    monkeypatch.setattr("bloom.reports.report_view_names", lambda: ["report_revenue_daily", "report_missing"])
    with pytest.raises(RuntimeError, match="report_missing"):
        report_views_refresh()
    assert report_refreshed_at() == before


def test_date_range_is_inclusive_and_filters_by_day():
    for day in ("2026-01-31", "2026-02-01", "2026-02-28", "2026-03-01"):
        PaymentIntentFactory(paid=True, kind="course", paid_at=at(day))
    report_views_refresh()
    (feb,) = rows(REVENUE, "revenue", start=datetime.date(2026, 2, 1), end=datetime.date(2026, 2, 28))
    assert (feb["month"], feb["payments"]) == ("2026-02", 2)


def test_days_are_days_in_the_practice_zone():
    # 06:00 UTC on 2 Jan is still 1 Jan in Los Angeles.
    PaymentIntentFactory(paid=True, kind="course", paid_at=datetime.datetime(2026, 1, 2, 6, tzinfo=UTC))
    report_views_refresh()
    assert rows(REVENUE, "revenue", start=datetime.date(2026, 1, 1), end=datetime.date(2026, 1, 1))[0]["payments"] == 1


def test_beat_refreshes_the_views_hourly():
    entry = beat_schedule()["bloom-reports-refresh"]
    assert entry["task"] == "bloom.reports_refresh_task"
    assert entry["task"] in celery_app.tasks
    assert celery_app.tasks[entry["task"]]() is not None


# --- Pages --------------------------------------------------------------------------------


def test_report_page_shows_summary_chart_table_and_refreshed_at():
    PaymentIntentFactory(paid=True, kind="course", amount=Decimal("120.00"), paid_at=at("2026-01-10"))
    report_views_refresh()
    client = staff_client("billing.view_paymentintent")
    response = client.get(reverse("report_page", args=["revenue"]), {"start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 payment took 120.00 USD" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and '<desc id="revenue-desc">' in page
    assert '<th scope="row">Jan 2026</th>' in page
    assert "Figures as of" in page
    assert "No refunds were paid in these dates." in page


def test_a_long_table_shows_its_first_rows_and_the_csv_has_them_all(monkeypatch):
    for day in ("2026-04-01", "2026-04-02", "2026-04-03"):
        WorkshopFactory(title=f"Circle {day}", starts_at=at(day))
    report_views_refresh()
    months, per_workshop = WORKSHOPS.sections
    short = dataclasses.replace(WORKSHOPS, sections=(months, dataclasses.replace(per_workshop, page_rows=2)))
    monkeypatch.setitem(REPORTS, "workshops", short)
    client = staff_client("workshops.view_workshopregistration")
    dates = {"start": "2026-04-01", "end": "2026-04-30"}
    page = client.get(reverse("report_page", args=["workshops"]), dates).content.decode()
    assert "Circle 2026-04-02" in page and "Circle 2026-04-03" not in page
    assert "The first 2 of 3 rows; the CSV has them all." in page
    response = client.get(reverse("report_page", args=["workshops"]), {**dates, "export": "workshops"})
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert [line[1] for line in table[1:]] == ["Circle 2026-04-01", "Circle 2026-04-02", "Circle 2026-04-03"]
    (month,) = rows(WORKSHOPS, "months", datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))
    assert month["workshops"] == 3  # the months are not cut


def test_csv_has_the_columns_and_rows_of_the_table_and_quotes_formulas():
    campaign = NewsletterCampaignFactory(subject="=HYPERLINK(1)", status="sent", sent_at=at("2026-06-15"))
    EmailCampaignMetricFactory(campaign_id=campaign.pk, sent_at=at("2026-06-15"), opened_at=at("2026-06-15"))
    report_views_refresh()
    client = staff_client("content.view_newslettercampaign")
    response = client.get(
        reverse("report_page", args=["newsletter"]), {"start": "2026-06-01", "end": "2026-06-30", "export": "campaigns"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "bloom-newsletter-campaigns-2026-06-01-to-2026-06-30.csv" in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == [column.label for column in NEWSLETTER.sections[1].columns]
    assert table[1][:5] == ["2026-06-15", "'=HYPERLINK(1)", "1", "1", "100.0"]


def test_an_invalid_range_keeps_what_was_typed_and_says_what_to_do():
    client = staff_client("billing.view_paymentintent")
    response = client.get(reverse("report_page", args=["revenue"]), {"start": "2026-05-01", "end": "2026-04-01"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "after the “To” date" in page
    assert 'value="2026-05-01"' in page and "Fix the dates above" in page
    response = client.get(reverse("report_page", args=["revenue"]), {"start": "soon", "end": "2026-04-01"})
    assert "“soon” is not a date we understand" in response.content.decode()


def test_each_report_needs_its_permission():
    billing = staff_client("billing.view_paymentintent")
    assert billing.get(reverse("report_page", args=["revenue"])).status_code == 200
    assert billing.get(reverse("report_page", args=["appointments"])).status_code == 403
    assert billing.get(reverse("report_page", args=["revenue"]), {"export": "revenue"}).status_code == 200
    assert billing.get(reverse("report_page", args=["appointments"]), {"export": "clinicians"}).status_code == 403
    assert staff_client().get(reverse("report_index")).status_code == 403
    index = billing.get(reverse("report_index")).content.decode()
    assert REVENUE.title in index and APPOINTMENTS.title not in index


def test_members_are_sent_to_sign_in():
    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("report_page", args=["revenue"]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_home_links_only_the_reports_one_may_open():
    client = staff_client("appointments.view_appointmentdata")
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="reports-links"' in page
    assert reverse("report_page", args=["appointments"]) in page
    assert reverse("report_page", args=["revenue"]) not in page


def _grow(factor: int) -> None:
    """`factor` rows of everything each report reads, spread over the year."""
    for n in range(factor):
        day = f"2026-{n % 12 + 1:02d}-{n % 27 + 1:02d}"
        PaymentIntentFactory(paid=True, kind=("course", "workshop")[n % 2], paid_at=at(day))
        AppointmentDataFactory(starts_at=at(day), ends_at=at(day, 21), status="completed")
        WorkshopFactory(starts_at=at(day))
        stamp(SubscriberFactory(), created_at=at(day))
        CourseEnrollmentFactory(enrolled_at=at(day))
    report_views_refresh()


def test_query_count_is_the_same_at_1x_and_10x(django_assert_num_queries):
    client = staff_client(*(report.permission for report in REPORTS.values()))
    urls = [reverse("report_page", args=[slug]) for slug in REPORTS]
    client.get(urls[0])  # the session's first-request work

    def counts() -> list[int]:
        found = []
        for url in urls:
            seen = []
            with connection.execute_wrapper(lambda execute, sql, *a, seen=seen: seen.append(sql) or execute(sql, *a)):
                assert client.get(url, {"start": "2026-01-01", "end": "2026-12-31"}).status_code == 200
            found.append(len(seen))
        return found

    _grow(1)
    small = counts()
    _grow(10)
    assert counts() == small
    # Pinned: the session, user, MFA and admin-record queries every admin page makes, "Figures as of", one per section.
    for report in REPORTS.values():
        with django_assert_num_queries(PAGE_QUERIES + len(report.sections)):
            client.get(reverse("report_page", args=[report.slug]))


def test_chart_escapes_text_and_scales_to_the_largest_bar():
    chart = bar_chart(
        key="t", title="<b>Title</b>", summary="Sum & more", groups=["<x>"], series=["A"], values=[[40.0]], unit="%"
    )
    assert "<b>" not in chart.svg and "&lt;b&gt;Title&lt;/b&gt;" in chart.svg
    assert "<title>&lt;x&gt;: A 40%</title>" in chart.svg
    assert ">50</text>" in chart.svg  # the axis tops out at the next round number
