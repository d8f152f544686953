"""Reporting view of workshops (docs/admin.md "Reports", docs/adr/0380): fill, waitlist and attendance.

One row per workshop (cancelled ones too, flagged by `status`), with the day it starts in
the practice's time zone so a report's date range is a WHERE on the view. A UNIQUE index
for `REFRESH ... CONCURRENTLY`; the time zone is set for the transaction.
"""

from django.conf import settings
from django.db import migrations

ZONE = ("SELECT set_config('TimeZone', %s, true)", [settings.BLOOM_PRACTICE_TIME_ZONE])

CREATE = """
CREATE MATERIALIZED VIEW report_workshop_fill AS
SELECT w.id AS workshop_id,
       w.starts_at::date AS day,
       w.title,
       w.status,
       w.capacity,
       coalesce(r.seats_taken, 0) AS seats_taken,
       coalesce(q.waitlisted, 0) AS waitlisted,
       coalesce(q.waitlist_converted, 0) AS waitlist_converted,
       coalesce(a.attended, 0) AS attended
FROM workshops w
LEFT JOIN (
    SELECT workshop_id, count(*) AS seats_taken
    FROM workshop_registrations WHERE status IN ('registered', 'attended', 'no_show') GROUP BY 1
) r ON r.workshop_id = w.id
LEFT JOIN (
    SELECT workshop_id, count(*) AS waitlisted, count(*) FILTER (WHERE status = 'accepted') AS waitlist_converted
    FROM workshop_waitlist GROUP BY 1
) q ON q.workshop_id = w.id
LEFT JOIN (
    SELECT workshop_id, count(DISTINCT participant_key) AS attended FROM workshop_attendance GROUP BY 1
) a ON a.workshop_id = w.id
WHERE w.archived_at IS NULL AND w.status <> 'draft'
WITH DATA;
CREATE UNIQUE INDEX report_workshop_fill_key ON report_workshop_fill (workshop_id);
CREATE INDEX report_workshop_fill_day ON report_workshop_fill (day);
COMMENT ON MATERIALIZED VIEW report_workshop_fill IS 'Per published or cancelled workshop: start day (practice time zone), seats, seats taken, waitlist joins and how many took a seat, distinct attendees.';
"""

DROP = "DROP MATERIALIZED VIEW IF EXISTS report_workshop_fill;"


class Migration(migrations.Migration):
    dependencies = [("workshops", "0004_ledger_triggers")]

    operations = [migrations.RunSQL([ZONE, CREATE], reverse_sql=DROP)]
