"""`report_refreshes`: when the reporting views were last refreshed, all of them (docs/admin.md "Reports").

Refreshed last by `bloom.reports.report_views_refresh`, after every `report_*` view of the
apps, so the one timestamp it holds is when the figures on every report page were read.
"""

from django.db import migrations

CREATE = """
CREATE MATERIALIZED VIEW report_refreshes AS
SELECT 1 AS id, now() AS refreshed_at
WITH DATA;
CREATE UNIQUE INDEX report_refreshes_key ON report_refreshes (id);
COMMENT ON MATERIALIZED VIEW report_refreshes IS 'When every report_* view was last refreshed (one row; refreshed after them by bloom.reports_refresh_task).';
"""

DROP = "DROP MATERIALIZED VIEW IF EXISTS report_refreshes;"


class Migration(migrations.Migration):
    dependencies = [("bloom", "0002_warehouse")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
