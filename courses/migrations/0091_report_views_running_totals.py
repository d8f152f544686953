"""The course report views as running totals per month (docs/adr/0380, issue 14).

The 0090 views had one row per lesson (or course) and day. At 100x the demo,
`report_lesson_dropoff` held 1.4 million rows, nearly one per `course_progress` row (5,276
lessons, a member or two a day each), and `report_course_funnel` about 150,000: the
course report summed a year of them on every page.

Now both hold one row per lesson (course) and calendar month (practice time zone), every
month from its first event to the month of the refresh, with running totals since the
first event: `started_by_day[d]` is how many members had first opened the lesson by the end
of day d of that month, and so on. What happened from day S to day E is then `total at E -
total at S-1`: two rows per lesson or course, read by the (month, …) unique index, whatever
the range and the number of members, with the same figures as before. Rows are written in
index order, so one month's rows sit on neighbouring pages.
"""

from django.conf import settings
from django.db import migrations

ZONE = ("SELECT set_config('TimeZone', %s, true)", [settings.BLOOM_PRACTICE_TIME_ZONE])


def running_totals(
    *, view: str, key: str, daily: str, measures: tuple[str, ...], extra: str = "", join: str = ""
) -> str:
    """SQL creating `view`: from `daily` (a query of `key`, day and `measures` per key and day),
    one row per key and month with an integer array per measure of its running totals by day
    (and the `extra` columns of the tables `join` adds)."""
    sums = ",\n           ".join(f"sum(coalesce(daily.{m}, 0)) OVER w AS {m}" for m in measures)
    arrays = ",\n       ".join(f"array_agg(r.{m}::integer ORDER BY r.day) AS {m}_by_day" for m in measures)
    return f"""
DROP MATERIALIZED VIEW IF EXISTS {view};
CREATE MATERIALIZED VIEW {view} AS
WITH daily AS (
    {daily}
), firsts AS (
    SELECT {key}, date_trunc('month', min(day))::date AS first_month FROM daily GROUP BY 1
), days AS (
    SELECT f.{key}, d::date AS day
    FROM firsts f
    CROSS JOIN LATERAL generate_series(
        f.first_month,
        date_trunc('month', greatest((SELECT max(day) FROM daily), current_date)) + interval '1 month - 1 day',
        interval '1 day'
    ) d
), r AS (
    SELECT days.{key}, days.day,
           {sums}
    FROM days LEFT JOIN daily ON daily.{key} = days.{key} AND daily.day = days.day
    WINDOW w AS (PARTITION BY days.{key} ORDER BY days.day)
)
SELECT {extra}r.{key},
       date_trunc('month', r.day)::date AS month,
       {arrays}
FROM r{join}
GROUP BY {extra}r.{key}, date_trunc('month', r.day)
ORDER BY month, r.{key}
WITH DATA;
CREATE UNIQUE INDEX {view}_key ON {view} (month, {key});
"""  # noqa: S608 - the names and SQL of this module only


FUNNEL_DAILY = """SELECT course_id, day,
           sum(viewed) AS viewed, sum(enrolled) AS enrolled, sum(completed) AS completed, sum(certified) AS certified
    FROM (
        SELECT c.id AS course_id, e.created_at::date AS day,
               count(DISTINCT coalesce(e.user_id::text, e.session_id)) AS viewed, 0 AS enrolled, 0 AS completed,
               0 AS certified
        FROM analytics_events e
        JOIN courses c ON e.path = '/courses/' || c.slug || '/'
        WHERE e.event_name = 'page_view'
        GROUP BY 1, 2
        UNION ALL
        SELECT course_id, coalesce(enrolled_at, created_at)::date, 0, count(*), 0, 0
        FROM course_enrollments GROUP BY 1, 2
        UNION ALL
        SELECT course_id, completed_at::date, 0, 0, count(*), 0
        FROM course_enrollments WHERE completed_at IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT course_id, issued_at::date, 0, 0, 0, count(*)
        FROM course_certificates WHERE revoked_at IS NULL GROUP BY 1, 2
    ) AS events
    WHERE day IS NOT NULL
    GROUP BY course_id, day"""

DROPOFF_DAILY = """SELECT p.lesson_id, p.first_viewed_at::date AS day, count(*) AS started,
           count(*) FILTER (WHERE p.completed_at IS NOT NULL) AS completed
    FROM course_progress p
    GROUP BY 1, 2"""

# Each lesson's course and place in it (by module, then lesson position): the drop-off
# section orders a course's lessons by it without joining the lessons on every page.
LESSON_ORDER = """
JOIN (
    SELECT l.id, m.course_id,
           row_number() OVER (PARTITION BY m.course_id ORDER BY m.position, l.position, l.id) AS lesson_number
    FROM course_lessons l JOIN course_modules m ON m.id = l.module_id
) o ON o.id = r.lesson_id"""

CREATE = [
    running_totals(
        view="report_course_funnel",
        key="course_id",
        daily=FUNNEL_DAILY,
        measures=("viewed", "enrolled", "completed", "certified"),
    )
    + "COMMENT ON MATERIALIZED VIEW report_course_funnel IS 'Per course and month (practice time zone), from "
    "its first event to the refresh: running totals by day of the month of visitors of the course page (distinct "
    "per day), enrollments, completions, certificates issued (not revoked).';",
    running_totals(
        view="report_lesson_dropoff",
        key="lesson_id",
        daily=DROPOFF_DAILY,
        measures=("started", "completed"),
        extra="o.course_id, o.lesson_number, ",
        join=LESSON_ORDER,
    )
    + "COMMENT ON MATERIALIZED VIEW report_lesson_dropoff IS 'Per lesson and month (practice time zone), from the "
    "month it was first opened to the refresh: its course and place in it (lesson_number, by module and lesson "
    "position at the refresh), running totals by day of the month of members who had first opened it "
    "(started_by_day) and of those who completed it (completed_by_day).';",
]

# Back to the 0090 shape: one row per course or lesson and day.
REVERSE = """
DROP MATERIALIZED VIEW IF EXISTS report_course_funnel;
CREATE MATERIALIZED VIEW report_course_funnel AS
SELECT course_id, day,
       sum(viewed)::bigint AS viewed,
       sum(enrolled)::bigint AS enrolled,
       sum(completed)::bigint AS completed,
       sum(certified)::bigint AS certified
FROM (
    SELECT c.id AS course_id, e.created_at::date AS day,
           count(DISTINCT coalesce(e.user_id::text, e.session_id)) AS viewed, 0 AS enrolled, 0 AS completed, 0 AS certified
    FROM analytics_events e
    JOIN courses c ON e.path = '/courses/' || c.slug || '/'
    WHERE e.event_name = 'page_view'
    GROUP BY 1, 2
    UNION ALL
    SELECT course_id, coalesce(enrolled_at, created_at)::date, 0, count(*), 0, 0
    FROM course_enrollments GROUP BY 1, 2
    UNION ALL
    SELECT course_id, completed_at::date, 0, 0, count(*), 0
    FROM course_enrollments WHERE completed_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT course_id, issued_at::date, 0, 0, 0, count(*)
    FROM course_certificates WHERE revoked_at IS NULL GROUP BY 1, 2
) AS events
GROUP BY course_id, day
WITH DATA;
CREATE UNIQUE INDEX report_course_funnel_key ON report_course_funnel (day, course_id);
COMMENT ON MATERIALIZED VIEW report_course_funnel IS 'Per course and day (practice time zone): visitors of the course page, enrollments, completions, certificates issued (not revoked).';

DROP MATERIALIZED VIEW IF EXISTS report_lesson_dropoff;
CREATE MATERIALIZED VIEW report_lesson_dropoff AS
SELECT m.course_id,
       p.lesson_id,
       p.first_viewed_at::date AS day,
       count(*) AS started,
       count(*) FILTER (WHERE p.completed_at IS NOT NULL) AS completed
FROM course_progress p
JOIN course_lessons l ON l.id = p.lesson_id
JOIN course_modules m ON m.id = l.module_id
GROUP BY 1, 2, 3
WITH DATA;
CREATE UNIQUE INDEX report_lesson_dropoff_key ON report_lesson_dropoff (day, lesson_id);
COMMENT ON MATERIALIZED VIEW report_lesson_dropoff IS 'Per lesson and day a member first opened it (practice time zone): members who opened it, and how many of them completed it.';
"""


class Migration(migrations.Migration):
    dependencies = [("courses", "0090_report_views")]

    operations = [migrations.RunSQL([ZONE, *CREATE], reverse_sql=[ZONE, REVERSE])]
