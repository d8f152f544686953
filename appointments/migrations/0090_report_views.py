"""Reporting view of appointments (docs/admin.md "Reports", docs/adr/0380): outcomes by clinician.

Per therapist and day of the session (practice time zone): sessions booked (a rescheduled
booking counts once, as its new time), completed, no-shows, late and ordinary cancellations,
still scheduled. A session without a therapist is kept under the nil uuid, so the UNIQUE
index `REFRESH ... CONCURRENTLY` needs has no NULL in it.
"""

from django.conf import settings
from django.db import migrations

ZONE = ("SELECT set_config('TimeZone', %s, true)", [settings.BLOOM_PRACTICE_TIME_ZONE])

CREATE = """
CREATE MATERIALIZED VIEW report_appointment_outcomes AS
SELECT coalesce(a.therapist_id, '00000000-0000-0000-0000-000000000000'::uuid) AS therapist_id,
       a.starts_at::date AS day,
       count(*) AS booked,
       count(*) FILTER (WHERE a.status = 'completed') AS attended,
       count(*) FILTER (WHERE a.status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE a.status = 'late_cancelled') AS late_cancels,
       count(*) FILTER (WHERE a.status = 'cancelled') AS cancels,
       count(*) FILTER (WHERE a.status = 'scheduled') AS scheduled
FROM appointment_data a
WHERE a.status <> 'rescheduled'
GROUP BY 1, 2
WITH DATA;
CREATE UNIQUE INDEX report_appointment_outcomes_key ON report_appointment_outcomes (day, therapist_id);
COMMENT ON MATERIALIZED VIEW report_appointment_outcomes IS 'Per therapist and session day (practice time zone): sessions booked, attended, no-shows, late cancellations, cancellations, still scheduled.';
"""

DROP = "DROP MATERIALIZED VIEW IF EXISTS report_appointment_outcomes;"


class Migration(migrations.Migration):
    dependencies = [("appointments", "0009_payment_capture_amount")]

    operations = [migrations.RunSQL([ZONE, CREATE], reverse_sql=DROP)]
