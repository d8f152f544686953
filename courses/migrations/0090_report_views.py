"""Reporting views of courses (docs/admin.md "Reports", docs/adr/0380): the funnel and lesson drop-off.

`report_course_funnel`: per course and day, what happened that day: distinct visitors of the
course's page (`analytics_events` page views of /courses/<slug>/), enrollments, completions
and certificates issued. `report_lesson_dropoff`: per lesson and day of first opening, how
many members opened it and how many of those have completed it. UNIQUE indexes for
`REFRESH ... CONCURRENTLY`; days in the practice's time zone (set for the transaction).
"""

from django.conf import settings
from django.db import migrations

ZONE = ("SELECT set_config('TimeZone', %s, true)", [settings.BLOOM_PRACTICE_TIME_ZONE])

CREATE = """
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

DROP = """
DROP MATERIALIZED VIEW IF EXISTS report_lesson_dropoff;
DROP MATERIALIZED VIEW IF EXISTS report_course_funnel;
"""


class Migration(migrations.Migration):
    dependencies = [("courses", "0007_course_access_days_and_expiry"), ("content", "0080_subscriber_consent_proof")]

    operations = [migrations.RunSQL([ZONE, CREATE], reverse_sql=DROP)]
