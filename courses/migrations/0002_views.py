"""The read-only views `course_overview` and `user_course_stats` (docs/courses.md says what a row means)."""

from django.db import migrations

# A lesson counts when it is published and neither it nor its module is archived.
COURSE_OVERVIEW = """
CREATE VIEW course_overview AS
SELECT
    c.id AS course_id,
    c.title,
    c.status,
    c.archived_at,
    (SELECT count(*) FROM course_modules m
      WHERE m.course_id = c.id AND m.archived_at IS NULL)::integer AS modules_count,
    (SELECT count(*) FROM course_lessons l JOIN course_modules m ON m.id = l.module_id
      WHERE m.course_id = c.id AND m.archived_at IS NULL
        AND l.archived_at IS NULL AND l.status = 'published')::integer AS lessons_count,
    COALESCE(e.enrollments_count, 0)::integer AS enrollments_count,
    COALESCE(e.completions_count, 0)::integer AS completions_count,
    CASE WHEN COALESCE(e.enrollments_count, 0) = 0 THEN 0.0
         ELSE round(100.0 * e.completions_count / e.enrollments_count, 1)
    END::numeric(5, 1) AS completion_rate,
    COALESCE(e.revenue, 0)::numeric(10, 2) AS revenue
FROM courses c
LEFT JOIN LATERAL (
    SELECT
        count(*) FILTER (WHERE ce.payment_status IN ('paid', 'free') AND ce.access_revoked_at IS NULL)
            AS enrollments_count,
        count(*) FILTER (WHERE ce.payment_status IN ('paid', 'free') AND ce.access_revoked_at IS NULL
                           AND ce.completed_at IS NOT NULL) AS completions_count,
        sum(ce.amount_paid - ce.amount_refunded) FILTER (WHERE ce.payment_status IN ('paid', 'refunded'))
            AS revenue
    FROM course_enrollments ce
    WHERE ce.course_id = c.id
) e ON true;
"""

USER_COURSE_STATS = """
CREATE VIEW user_course_stats AS
SELECT
    ce.id AS enrollment_id,
    ce.user_id,
    ce.course_id,
    (ce.payment_status IN ('paid', 'free') AND ce.access_revoked_at IS NULL) AS has_access,
    t.lessons_total::integer AS lessons_total,
    COALESCE(p.lessons_completed, 0)::integer AS lessons_completed,
    CASE WHEN t.lessons_total = 0 THEN 0
         ELSE (100 * COALESCE(p.lessons_completed, 0) / t.lessons_total)
    END::integer AS percent,
    COALESCE(p.time_spent_seconds, 0)::bigint AS time_spent_seconds,
    GREATEST(p.last_viewed_at, ce.last_activity_at) AS last_activity_at,
    ce.enrolled_at,
    ce.completed_at
FROM course_enrollments ce
CROSS JOIN LATERAL (
    SELECT count(*) AS lessons_total
    FROM course_lessons l JOIN course_modules m ON m.id = l.module_id
    WHERE m.course_id = ce.course_id AND m.archived_at IS NULL
      AND l.archived_at IS NULL AND l.status = 'published'
) t
LEFT JOIN LATERAL (
    SELECT
        count(*) FILTER (WHERE cp.status = 'completed' AND l.status = 'published' AND l.archived_at IS NULL
                           AND m.archived_at IS NULL AND m.course_id = ce.course_id) AS lessons_completed,
        sum(d.time_spent_seconds) AS time_spent_seconds,
        max(cp.last_viewed_at) AS last_viewed_at
    FROM course_progress cp
    JOIN course_lessons l ON l.id = cp.lesson_id
    JOIN course_modules m ON m.id = l.module_id
    LEFT JOIN lesson_completion_details d ON d.progress_id = cp.id
    WHERE cp.enrollment_id = ce.id
) p ON true;
"""


class Migration(migrations.Migration):
    dependencies = [("courses", "0001_initial")]

    operations = [
        migrations.RunSQL(COURSE_OVERVIEW, reverse_sql="DROP VIEW IF EXISTS course_overview;"),
        migrations.RunSQL(USER_COURSE_STATS, reverse_sql="DROP VIEW IF EXISTS user_course_stats;"),
    ]
