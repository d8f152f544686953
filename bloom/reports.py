"""The admin reports (docs/admin.md "Reports", docs/adr/0380): what each shows, and the refresh.

Every report reads materialized `report_*` views that the migration of the app owning the
data creates (billing, courses, workshops, appointments, content: 0090_report_views). The
views are aggregated by day, so a report's date range is a WHERE on a small view whatever
the size of the tables under it, and a page costs the same queries at any scale: one for
`report_refreshes` and one per section. bloom may not import those apps, so this module
names their views and tables in SQL only (as bloom/warehouse.py does) and their permissions
as strings.

`report_views_refresh` (beat: hourly, `bloom.reports_refresh_task`) refreshes every
`report_*` view CONCURRENTLY, so readers are never blocked, then `report_refreshes`, whose
one timestamp every page shows as "Figures as of".
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from bloom.report_chart import BarChart, bar_chart

logger = logging.getLogger(__name__)

REFRESHES_VIEW = "report_refreshes"


# --- Refresh ---------------------------------------------------------------------------


def report_view_names() -> list[str]:
    """Every `report_*` materialized view of the database but `report_refreshes`, by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT matviewname FROM pg_matviews WHERE schemaname = current_schema() "
            "AND matviewname LIKE 'report\\_%%' AND matviewname <> %s ORDER BY matviewname",
            [REFRESHES_VIEW],
        )
        return [name for (name,) in cursor.fetchall()]


def report_views_refresh() -> dict[str, float]:
    """Refresh every reporting view with `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers
    see the old rows until each commits, never a lock wait), each in its own transaction with
    the practice's time zone (the views' days are days there), then `report_refreshes` last.

    A view that fails raises after the others were tried, and `report_refreshes` keeps its
    older time, so "Figures as of" never claims a refresh that did not happen.
    Returns seconds taken per view.
    """
    timings: dict[str, float] = {}
    failures: list[tuple[str, Exception]] = []
    for name in [*report_view_names(), REFRESHES_VIEW]:
        if failures and name == REFRESHES_VIEW:
            break
        started = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # SET LOCAL lasts to the end of the outermost transaction: put the session's
                # zone back at once, since Django reads timestamps in it.
                cursor.execute(
                    "SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)",
                    [settings.BLOOM_PRACTICE_TIME_ZONE],
                )
                (zone, _practice) = cursor.fetchone()
                cursor.execute(f'REFRESH MATERIALIZED VIEW CONCURRENTLY "{name}"')
                # Fresh statistics, so the pages' plans know how many rows a day or month holds
                # (autovacuum would analyze a view only after many refreshes' worth of changes).
                cursor.execute(f'ANALYZE "{name}"')
                cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
        except Exception as exc:  # noqa: BLE001 - the other views are still refreshed; raised below
            logger.exception("report view %s not refreshed", name)
            failures.append((name, exc))
            continue
        timings[name] = time.perf_counter() - started
    if failures:
        names = ", ".join(name for name, _exc in failures)
        raise RuntimeError(f"report views not refreshed: {names}") from failures[0][1]
    logger.info("report views refreshed: %s", {name: round(s, 3) for name, s in timings.items()})
    return timings


def report_refreshed_at() -> datetime.datetime | None:
    """When every report view was last refreshed (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT refreshed_at FROM {REFRESHES_VIEW}")  # noqa: S608 - a constant
        row = cursor.fetchone()
    return row[0] if row else None


# --- Definitions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # text, int, money, pct, month, date

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money", "pct")


@dataclass(frozen=True)
class Section:
    """One table of a report: one query over a view for the date range, its columns (the
    table's and the CSV's), an optional chart and a summary sentence."""

    key: str
    title: str
    sql: str  # takes %(start)s and %(end)s (dates, both included); with page_rows also %(limit)s
    columns: tuple[Column, ...]
    empty: str
    # At most this many rows on the page (the CSV has them all): the SQL ends in
    # `LIMIT %(limit)s` (NULL for the CSV) and counts every row in `total_rows`.
    page_rows: int | None = None
    derive: Callable[[dict], None] | None = None  # adds computed columns to a row
    # Both are called with one row or more; without rows the summary is `empty` and there is no chart.
    chart: Callable[[list[dict], str], BarChart | None] | None = None
    summary: Callable[[list[dict]], str] | None = None


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    description: str
    permission: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


def _rate(part, whole) -> Decimal | None:
    """`part` as a percentage of `whole`, one decimal; None when `whole` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _plural(count, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _pivot(rows: list[dict], group: str, series: str, value: str) -> tuple[list[str], list[str], list[list[float]]]:
    """Rows (group, series, value) as the groups, the series and values[group][series]."""
    groups = list(dict.fromkeys(str(row[group]) for row in rows))
    names = sorted({str(row[series]) for row in rows})
    table = {(str(row[group]), str(row[series])): float(row[value] or 0) for row in rows}
    return groups, names, [[table.get((g, s), 0.0) for s in names] for g in groups]


def _columns_chart(
    key: str, title: str, group: str, series: Sequence[tuple[str, str]], unit: str = ""
) -> Callable[[list[dict], str], BarChart | None]:
    """A chart with one group per row (labelled by `group`) and one bar per (column, name)."""

    def chart(rows: list[dict], summary: str) -> BarChart | None:
        return bar_chart(
            key=key,
            title=title,
            summary=summary,
            groups=[str(row[group]) for row in rows],
            series=[name for _column, name in series],
            values=[[float(row[column] or 0) for column, _name in series] for row in rows],
            unit=unit,
        )

    return chart


# Revenue: by month and kind; refunds; disputes.


def _top_currency(rows: list[dict], amount: str) -> str:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + (row[amount] or 0)
    return max(totals, key=totals.get) if totals else ""


def _revenue_summary(rows: list[dict]) -> str:
    currency = _top_currency(rows, "gross")
    mine = [row for row in rows if row["currency"] == currency]
    gross = sum(row["gross"] for row in mine)
    count = sum(row["payments"] for row in mine)
    disputes = sum(row["disputes"] for row in rows)
    kinds: dict[str, Decimal] = {}
    for row in mine:
        kinds[row["kind"]] = kinds.get(row["kind"], Decimal(0)) + row["gross"]
    biggest = max(kinds, key=kinds.get)
    return (
        f"{_plural(count, 'payment')} took {gross:,.2f} {currency.upper()}; the most from {biggest} "
        f"({kinds[biggest]:,.2f}). {_plural(disputes, 'payment')} disputed."
    )


def _revenue_chart(rows: list[dict], summary: str) -> BarChart | None:
    currency = _top_currency(rows, "gross")
    groups, series, values = _pivot([r for r in rows if r["currency"] == currency], "month", "kind", "gross")
    return bar_chart(
        key="revenue",
        title=f"Money taken by month and kind ({currency.upper()})",
        summary=summary,
        groups=groups,
        series=series,
        values=values,
        unit=f" {currency.upper()}",
    )


def _refunds_summary(rows: list[dict]) -> str:
    currency = _top_currency(rows, "refunded")
    mine = [row for row in rows if row["currency"] == currency]
    total = sum(row["refunded"] for row in mine)
    return f"{_plural(sum(r['refunds'] for r in rows), 'refund')}: {total:,.2f} {currency.upper()} paid back."


REVENUE = Report(
    slug="revenue",
    title="Revenue, refunds and disputes",
    description="Money taken each month by kind of payment, refunds paid back, and disputed payments.",
    permission="billing.view_paymentintent",
    sections=(
        Section(
            key="revenue",
            title="Money taken by month and kind",
            sql="""SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, kind, currency, sum(payments)::bigint AS payments,
                    sum(gross) AS gross, sum(disputes)::bigint AS disputes, sum(disputed_amount) AS disputed_amount
                    FROM report_revenue_daily WHERE day BETWEEN %(start)s AND %(end)s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
            columns=(
                Column("month", "Month", "month"),
                Column("kind", "Kind", "text"),
                Column("currency", "Currency", "text"),
                Column("payments", "Payments"),
                Column("gross", "Taken", "money"),
                Column("disputes", "Disputed payments"),
                Column("disputed_amount", "Disputed amount", "money"),
            ),
            empty="No payments were taken in these dates.",
            summary=_revenue_summary,
            chart=_revenue_chart,
        ),
        Section(
            key="refunds",
            title="Refunds paid back by month",
            sql="""SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, kind, currency, sum(refunds)::bigint AS refunds, sum(refunded) AS refunded
                    FROM report_refunds_daily WHERE day BETWEEN %(start)s AND %(end)s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
            columns=(
                Column("month", "Month", "month"),
                Column("kind", "Kind", "text"),
                Column("currency", "Currency", "text"),
                Column("refunds", "Refunds"),
                Column("refunded", "Paid back", "money"),
            ),
            empty="No refunds were paid in these dates.",
            summary=_refunds_summary,
        ),
    ),
)


# Courses: funnel and lesson drop-off.


def _funnel_summary(rows: list[dict]) -> str:
    total = {key: sum(row[key] for row in rows) for key in ("viewed", "enrolled", "completed", "certified")}
    return (
        f"Across {_plural(len(rows), 'course')}: {total['viewed']:,} visitors of course pages, "
        f"{total['enrolled']:,} enrollments, {total['completed']:,} completions, "
        f"{total['certified']:,} certificates issued."
    )


def _dropoff_derive(row: dict) -> None:
    row["reached_last_rate"] = _rate(row["last_opened"], row["first_opened"])
    row["completion_rate"] = _rate(row["completions"], row["opens"])


def _dropoff_summary(rows: list[dict]) -> str:
    worst = min(rows, key=lambda row: row["reached_last_rate"] or 0)
    return (
        f"Lessons of {_plural(len(rows), 'course')} opened. Fewest reach the last lesson in {worst['course']}: "
        f"{worst['last_opened']:,} of the {worst['first_opened']:,} who opened its first "
        f"({worst['reached_last_rate'] or 0}%)."
    )


COURSES = Report(
    slug="courses",
    title="Course funnel and lesson drop-off",
    description="Visitors, enrollments, completions and certificates per course; how many finish each lesson they open.",
    permission="courses.view_courseenrollment",
    sections=(
        Section(
            key="funnel",
            title="Funnel per course",
            # Running totals per course and month (courses/migrations/0091): the range's figures
            # are the totals at the end day less those the day before the start (as for drop-off).
            sql="""WITH bounds AS (
                        SELECT hi, least(%(start)s::date - 1, hi) AS lo
                        FROM (SELECT least(%(end)s::date, (max(month) + interval '1 month - 1 day')::date) AS hi
                              FROM report_course_funnel) b
                    ), at_end AS (
                        SELECT course_id, viewed_by_day[d] AS viewed, enrolled_by_day[d] AS enrolled,
                               completed_by_day[d] AS completed, certified_by_day[d] AS certified
                        FROM report_course_funnel, (SELECT extract(day FROM hi)::int AS d FROM bounds) i
                        WHERE month = (SELECT date_trunc('month', hi)::date FROM bounds)
                    ), at_start AS (
                        SELECT course_id, viewed_by_day[d] AS viewed, enrolled_by_day[d] AS enrolled,
                               completed_by_day[d] AS completed, certified_by_day[d] AS certified
                        FROM report_course_funnel, (SELECT extract(day FROM lo)::int AS d FROM bounds) i
                        WHERE month = (SELECT date_trunc('month', lo)::date FROM bounds)
                    ), ranged AS (
                        SELECT e.course_id, e.viewed - coalesce(s.viewed, 0) AS viewed,
                               e.enrolled - coalesce(s.enrolled, 0) AS enrolled,
                               e.completed - coalesce(s.completed, 0) AS completed,
                               e.certified - coalesce(s.certified, 0) AS certified
                        FROM at_end e LEFT JOIN at_start s ON s.course_id = e.course_id
                    )
                    SELECT c.title AS course, r.viewed::bigint AS viewed, r.enrolled::bigint AS enrolled,
                           r.completed::bigint AS completed, r.certified::bigint AS certified
                    FROM ranged r JOIN courses c ON c.id = r.course_id
                    WHERE r.viewed > 0 OR r.enrolled > 0 OR r.completed > 0 OR r.certified > 0
                    ORDER BY c.title, c.id""",
            columns=(
                Column("course", "Course", "text"),
                Column("viewed", "Visitors of its page"),
                Column("enrolled", "Enrolled"),
                Column("completed", "Completed"),
                Column("certified", "Certificates"),
            ),
            empty="Nothing happened in any course in these dates.",
            summary=_funnel_summary,
            chart=_columns_chart(
                "funnel",
                "Course funnel: visitors, enrollments, completions, certificates",
                "course",
                (
                    ("viewed", "Visitors"),
                    ("enrolled", "Enrolled"),
                    ("completed", "Completed"),
                    ("certified", "Certificates"),
                ),
            ),
        ),
        Section(
            key="dropoff",
            title="Lesson drop-off per course (members who first opened a lesson in these dates)",
            # One row per course whatever its number of lessons: the first and last lesson's
            # openings and the steepest fall from one lesson to the next. The view holds running
            # totals per lesson and month (courses/migrations/0091): a lesson's openings in the
            # range are its total at the end day less its total the day before the start day,
            # two rows per lesson by the (month, lesson_id) index. An end day after the last
            # refreshed month reads that month's last day; a start before a lesson's first month
            # finds no row (nothing before it). Lessons are taken in the view's `lesson_number`
            # order (module, then lesson position at the refresh), and only the steepest
            # lesson's title is looked up.
            sql="""WITH bounds AS (
                        SELECT date_trunc('month', hi)::date AS hi_month, extract(day FROM hi)::int AS hi_day,
                               date_trunc('month', lo)::date AS lo_month, extract(day FROM lo)::int AS lo_day
                        FROM (SELECT hi, least(%(start)s::date - 1, hi) AS lo
                              FROM (SELECT least(%(end)s::date, (max(month) + interval '1 month - 1 day')::date) AS hi
                                    FROM report_lesson_dropoff) h) b
                    ), at_start AS MATERIALIZED (
                        SELECT lesson_id, started_by_day[(SELECT lo_day FROM bounds)] AS started,
                               completed_by_day[(SELECT lo_day FROM bounds)] AS completed
                        FROM report_lesson_dropoff WHERE month = (SELECT lo_month FROM bounds)
                    ), lessons AS MATERIALIZED (
                        SELECT e.course_id, e.lesson_id, e.lesson_number,
                               e.started_by_day[(SELECT hi_day FROM bounds)] - coalesce(s.started, 0) AS started,
                               e.completed_by_day[(SELECT hi_day FROM bounds)] - coalesce(s.completed, 0) AS completed
                        FROM report_lesson_dropoff e LEFT JOIN at_start s ON s.lesson_id = e.lesson_id
                        WHERE e.month = (SELECT hi_month FROM bounds)
                    ), ranked AS (
                        SELECT *, row_number() OVER w AS n, count(*) OVER (PARTITION BY course_id) AS lessons,
                               lag(started) OVER w - started AS fall
                        FROM lessons WHERE started > 0 WINDOW w AS (PARTITION BY course_id ORDER BY lesson_number)
                    ), per_course AS (
                        SELECT r.course_id, max(r.lessons)::bigint AS lessons,
                               sum(r.started) FILTER (WHERE r.n = 1)::bigint AS first_opened,
                               sum(r.started) FILTER (WHERE r.n = r.lessons)::bigint AS last_opened,
                               sum(r.started)::bigint AS opens, sum(r.completed)::bigint AS completions,
                               (array_agg(r.lesson_id ORDER BY r.fall DESC NULLS LAST, r.n))[1] AS steepest_lesson_id,
                               coalesce(max(r.fall), 0)::bigint AS steepest_fall
                        FROM ranked r GROUP BY r.course_id
                    )
                    SELECT c.title AS course, r.lessons, r.first_opened, r.last_opened, r.opens, r.completions,
                           l.title AS steepest_lesson, r.steepest_fall
                    FROM per_course r JOIN courses c ON c.id = r.course_id
                    JOIN course_lessons l ON l.id = r.steepest_lesson_id
                    ORDER BY c.title, c.id""",
            columns=(
                Column("course", "Course", "text"),
                Column("lessons", "Lessons opened"),
                Column("first_opened", "Opened the first"),
                Column("last_opened", "Opened the last"),
                Column("reached_last_rate", "Reached the last", "pct"),
                Column("completion_rate", "Lessons completed of opened", "pct"),
                Column("steepest_lesson", "Steepest fall before", "text"),
                Column("steepest_fall", "Fewer members there"),
            ),
            empty="No lesson was opened for the first time in these dates.",
            derive=_dropoff_derive,
            summary=_dropoff_summary,
        ),
    ),
)


# Workshops: fill, waitlist conversion, attendance.


def _fill_derive(row: dict) -> None:
    row["fill_rate"] = _rate(row["seats_taken"], row["capacity"])
    row["conversion_rate"] = _rate(row["waitlist_converted"], row["waitlisted"])
    row["attendance_rate"] = _rate(row["attended"], row["seats_taken"])


def _fill_summary(rows: list[dict]) -> str:
    seats = sum(row["capacity"] for row in rows)
    taken = sum(row["seats_taken"] for row in rows)
    attended = sum(row["attended"] for row in rows)
    waitlisted = sum(row["waitlisted"] for row in rows)
    converted = sum(row["waitlist_converted"] for row in rows)
    return (
        f"{_plural(len(rows), 'workshop')}: {taken:,} of {seats:,} seats taken ({_rate(taken, seats) or 0}%), "
        f"{attended:,} attended ({_rate(attended, taken) or 0}% of seats taken); "
        f"{converted:,} of {waitlisted:,} waitlist places became seats."
    )


FILL_COLUMNS = (
    Column("capacity", "Seats"),
    Column("seats_taken", "Seats taken"),
    Column("fill_rate", "Filled", "pct"),
    Column("waitlisted", "Joined waitlist"),
    Column("waitlist_converted", "Waitlist to seat"),
    Column("conversion_rate", "Waitlist converted", "pct"),
    Column("attended", "Attended"),
    Column("attendance_rate", "Attended of seats taken", "pct"),
)

WORKSHOPS = Report(
    slug="workshops",
    title="Workshop fill, waitlist and attendance",
    description="Seats filled, waitlist places that became seats, and attendance, by month and per workshop.",
    permission="workshops.view_workshopregistration",
    sections=(
        Section(
            key="months",
            title="By month",
            sql="""SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, count(*)::bigint AS workshops, sum(capacity)::bigint AS capacity,
                    sum(seats_taken)::bigint AS seats_taken, sum(waitlisted)::bigint AS waitlisted,
                    sum(waitlist_converted)::bigint AS waitlist_converted, sum(attended)::bigint AS attended
                    FROM report_workshop_fill WHERE day BETWEEN %(start)s AND %(end)s AND status <> 'cancelled' GROUP BY 1 ORDER BY 1""",
            columns=(Column("month", "Month", "month"), Column("workshops", "Workshops"), *FILL_COLUMNS),
            empty="No workshop took place or is planned in these dates.",
            derive=_fill_derive,
            summary=_fill_summary,
            chart=_columns_chart(
                "fill",
                "Workshop seats, seats taken and attendance by month",
                "month",
                (("capacity", "Seats"), ("seats_taken", "Seats taken"), ("attended", "Attended")),
            ),
        ),
        Section(
            key="workshops",
            title="Per workshop",
            sql="""SELECT day, title, status, capacity, seats_taken, waitlisted, waitlist_converted, attended,
                    count(*) OVER () AS total_rows
                    FROM report_workshop_fill WHERE day BETWEEN %(start)s AND %(end)s ORDER BY day, title, workshop_id
                    LIMIT %(limit)s""",
            columns=(
                Column("day", "Date", "date"),
                Column("title", "Workshop", "text"),
                Column("status", "Status", "text"),
                *FILL_COLUMNS,
            ),
            empty="No workshop in these dates.",
            derive=_fill_derive,
            page_rows=100,
        ),
    ),
)


# Appointments: outcomes by clinician.


def _outcomes_derive(row: dict) -> None:
    held = row["booked"] - row["scheduled"]  # sessions whose time has come and gone, one way or another
    row["attended_rate"] = _rate(row["attended"], held)
    row["no_show_rate"] = _rate(row["no_shows"], held)
    row["late_cancel_rate"] = _rate(row["late_cancels"], held)


def _outcomes_summary(rows: list[dict]) -> str:
    booked = sum(row["booked"] for row in rows)
    held = booked - sum(row["scheduled"] for row in rows)
    no_shows = sum(row["no_shows"] for row in rows)
    late = sum(row["late_cancels"] for row in rows)
    return (
        f"{_plural(booked, 'session')} booked with {_plural(len(rows), 'clinician')}; of the {held:,} past or "
        f"cancelled, {_rate(no_shows, held) or 0}% no-shows and {_rate(late, held) or 0}% late cancellations."
    )


APPOINTMENTS = Report(
    slug="appointments",
    title="Appointment outcomes by clinician",
    description="Sessions booked, attended, no-shows and late cancellations per clinician, as rates of the sessions whose time has come.",
    permission="appointments.view_appointmentdata",
    sections=(
        Section(
            key="clinicians",
            title="Per clinician",
            sql="""SELECT coalesce(t.display_name, 'No clinician') AS clinician, sum(o.booked)::bigint AS booked,
                    sum(o.attended)::bigint AS attended, sum(o.no_shows)::bigint AS no_shows,
                    sum(o.late_cancels)::bigint AS late_cancels, sum(o.cancels)::bigint AS cancels,
                    sum(o.scheduled)::bigint AS scheduled
                    FROM report_appointment_outcomes o LEFT JOIN therapist_profiles t ON t.id = o.therapist_id
                    WHERE o.day BETWEEN %(start)s AND %(end)s GROUP BY o.therapist_id, t.display_name ORDER BY 1, o.therapist_id""",
            columns=(
                Column("clinician", "Clinician", "text"),
                Column("booked", "Booked"),
                Column("attended", "Attended"),
                Column("no_shows", "No-shows"),
                Column("late_cancels", "Late cancellations"),
                Column("cancels", "Other cancellations"),
                Column("scheduled", "Still to come"),
                Column("attended_rate", "Attended rate", "pct"),
                Column("no_show_rate", "No-show rate", "pct"),
                Column("late_cancel_rate", "Late-cancel rate", "pct"),
            ),
            empty="No sessions were booked for these dates.",
            derive=_outcomes_derive,
            summary=_outcomes_summary,
            chart=_columns_chart(
                "outcomes",
                "Attended, no-show and late-cancel rates by clinician (%)",
                "clinician",
                (("attended_rate", "Attended"), ("no_show_rate", "No-show"), ("late_cancel_rate", "Late cancel")),
                unit="%",
            ),
        ),
    ),
)


# Newsletter: growth and campaigns.


def _growth_summary(rows: list[dict]) -> str:
    confirmed = sum(row["confirmed"] for row in rows)
    gone = sum(row["unsubscribed"] for row in rows)
    return (
        f"{sum(row['signups'] for row in rows):,} sign-ups, {confirmed:,} confirmed, {gone:,} unsubscribed, "
        f"{sum(row['bounced'] for row in rows):,} bounced emails: {confirmed - gone:+,} confirmed subscribers net."
    )


def _campaign_derive(row: dict) -> None:
    for key in ("opened", "clicked", "unsubscribed", "bounced"):
        row[f"{key}_rate"] = _rate(row[key], row["sent"])


def _campaign_summary(rows: list[dict]) -> str:
    sent = sum(row["sent"] for row in rows)
    return (
        f"{_plural(len(rows), 'campaign')} sent to {sent:,} recipients: "
        f"{_rate(sum(r['opened'] for r in rows), sent) or 0}% opened, {_rate(sum(r['clicked'] for r in rows), sent) or 0}% clicked."
    )


NEWSLETTER = Report(
    slug="newsletter",
    title="Newsletter growth and campaigns",
    description="Sign-ups, confirmations, unsubscribes and bounces by month; opens, clicks, unsubscribes and bounces per campaign.",
    permission="content.view_newslettercampaign",
    sections=(
        Section(
            key="growth",
            title="Growth by month",
            sql="""SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, sum(signups)::bigint AS signups, sum(confirmed)::bigint AS confirmed,
                    sum(unsubscribed)::bigint AS unsubscribed, sum(bounced)::bigint AS bounced
                    FROM report_newsletter_daily WHERE day BETWEEN %(start)s AND %(end)s GROUP BY 1 ORDER BY 1""",
            columns=(
                Column("month", "Month", "month"),
                Column("signups", "Sign-ups"),
                Column("confirmed", "Confirmed"),
                Column("unsubscribed", "Unsubscribed"),
                Column("bounced", "Bounced emails"),
            ),
            empty="No newsletter sign-ups, unsubscribes or bounces in these dates.",
            summary=_growth_summary,
            chart=_columns_chart(
                "growth",
                "Newsletter sign-ups, confirmations, unsubscribes and bounces by month",
                "month",
                (
                    ("signups", "Sign-ups"),
                    ("confirmed", "Confirmed"),
                    ("unsubscribed", "Unsubscribed"),
                    ("bounced", "Bounced"),
                ),
            ),
        ),
        Section(
            key="campaigns",
            title="Campaigns sent",
            sql="""SELECT day, subject, sent, opened, clicked, unsubscribed, bounced
                    FROM report_campaign_engagement WHERE day BETWEEN %(start)s AND %(end)s ORDER BY day, campaign_id""",
            columns=(
                Column("day", "Sent on", "date"),
                Column("subject", "Subject", "text"),
                Column("sent", "Sent"),
                Column("opened", "Opened"),
                Column("opened_rate", "Open rate", "pct"),
                Column("clicked", "Clicked"),
                Column("clicked_rate", "Click rate", "pct"),
                Column("unsubscribed", "Unsubscribed"),
                Column("bounced", "Bounced"),
                Column("bounced_rate", "Bounce rate", "pct"),
            ),
            empty="No campaign was sent in these dates.",
            derive=_campaign_derive,
            summary=_campaign_summary,
        ),
    ),
)

REPORTS: dict[str, Report] = {report.slug: report for report in (REVENUE, COURSES, WORKSHOPS, APPOINTMENTS, NEWSLETTER)}


# --- Reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionResult:
    section: Section
    rows: list[dict]
    summary: str
    chart: BarChart | None
    total: int = 0  # rows in the range; more than len(rows) when the page shows only the first

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)

    def table(self) -> list[list]:
        """The rows as lists of values in column order (the table's and the CSV's)."""
        return [[row.get(column.key) for column in self.section.columns] for row in self.rows]


def report_section_rows(
    *, section: Section, start: datetime.date, end: datetime.date, limit: int | None = None
) -> list[dict]:
    """The section's rows for days `start` to `end` (both included), with its computed
    columns: one query on its reporting view. `limit` (sections with `page_rows` only) keeps
    the first rows; each row's `total_rows` still counts them all."""
    with connection.cursor() as cursor:
        cursor.execute(section.sql, {"start": start, "end": end, "limit": limit})
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    if section.derive:
        for row in rows:
            section.derive(row)
    return rows


def report_section_get(
    *, section: Section, start: datetime.date, end: datetime.date, page: bool = False
) -> SectionResult:
    """The section's rows, summary sentence and chart (None without rows) for the range;
    for the `page`, only its first `page_rows` rows (the summary and chart are of those)."""
    rows = report_section_rows(section=section, start=start, end=end, limit=section.page_rows if page else None)
    if not rows:
        # A section that says what it found says so of nothing too: its `empty` sentence.
        summary, chart = (section.empty if section.summary else ""), None
    else:
        summary = section.summary(rows) if section.summary else ""
        chart = section.chart(rows, summary) if section.chart else None
    total = rows[0].get("total_rows", len(rows)) if rows else 0
    return SectionResult(section=section, rows=rows, summary=summary, chart=chart, total=total)
