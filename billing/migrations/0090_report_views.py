"""Reporting views of money (docs/admin.md "Reports", docs/adr/0380): revenue and refunds by day.

Materialized views over `payment_intents` and `refund_requests`, one row per day, kind and
currency, so a report's date range is a WHERE on a few hundred rows however many payments
there are. Each has a UNIQUE index, so `REFRESH MATERIALIZED VIEW CONCURRENTLY` (the hourly
`bloom.reports_refresh_task`) never blocks a reader. Days are in the practice's time zone
(`BLOOM_PRACTICE_TIME_ZONE`): the refresh, like this migration, sets it for its transaction.
"""

from django.conf import settings
from django.db import migrations

ZONE = ("SELECT set_config('TimeZone', %s, true)", [settings.BLOOM_PRACTICE_TIME_ZONE])

CREATE = """
CREATE MATERIALIZED VIEW report_revenue_daily AS
SELECT p.paid_at::date AS day,
       p.kind,
       p.currency,
       count(*) AS payments,
       sum(p.amount) AS gross,
       count(*) FILTER (WHERE p.disputed) AS disputes,
       coalesce(sum(p.amount) FILTER (WHERE p.disputed), 0) AS disputed_amount
FROM payment_intents p
WHERE p.paid_at IS NOT NULL
GROUP BY 1, 2, 3
WITH DATA;
CREATE UNIQUE INDEX report_revenue_daily_key ON report_revenue_daily (day, kind, currency);
COMMENT ON MATERIALIZED VIEW report_revenue_daily IS 'Money taken per day (practice time zone), payment kind and currency: payments, gross amount, disputed payments (by the day they were paid).';

CREATE MATERIALIZED VIEW report_refunds_daily AS
SELECT r.refunded_at::date AS day,
       p.kind,
       r.currency,
       count(*) AS refunds,
       sum(r.amount_refunded) AS refunded
FROM refund_requests r
JOIN payment_intents p ON p.id = r.payment_id
WHERE r.status = 'refunded' AND r.refunded_at IS NOT NULL
GROUP BY 1, 2, 3
WITH DATA;
CREATE UNIQUE INDEX report_refunds_daily_key ON report_refunds_daily (day, kind, currency);
COMMENT ON MATERIALIZED VIEW report_refunds_daily IS 'Refunds paid out per day (practice time zone), kind of the refunded payment and currency: how many and how much.';
"""

DROP = """
DROP MATERIALIZED VIEW IF EXISTS report_refunds_daily;
DROP MATERIALIZED VIEW IF EXISTS report_revenue_daily;
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_ledger_triggers")]

    operations = [migrations.RunSQL([ZONE, CREATE], reverse_sql=DROP)]
