"""Reporting views of the newsletter (docs/admin.md "Reports", docs/adr/0380): growth and campaigns.

`report_newsletter_daily`: per day (practice time zone) sign-ups, confirmations,
unsubscribes (from `subscribers`) and bounces (from `email_campaign_metrics`).
`report_campaign_engagement`: per sent campaign, its recipients who were sent, opened,
clicked, unsubscribed and bounced. UNIQUE indexes for `REFRESH ... CONCURRENTLY`.
"""

from django.conf import settings
from django.db import migrations

ZONE = ("SELECT set_config('TimeZone', %s, true)", [settings.BLOOM_PRACTICE_TIME_ZONE])

CREATE = """
CREATE MATERIALIZED VIEW report_newsletter_daily AS
SELECT day,
       sum(signups)::bigint AS signups,
       sum(confirmed)::bigint AS confirmed,
       sum(unsubscribed)::bigint AS unsubscribed,
       sum(bounced)::bigint AS bounced
FROM (
    SELECT created_at::date AS day, count(*) AS signups, 0 AS confirmed, 0 AS unsubscribed, 0 AS bounced
    FROM subscribers GROUP BY 1
    UNION ALL
    SELECT confirmed_at::date, 0, count(*), 0, 0 FROM subscribers WHERE confirmed_at IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT unsubscribed_at::date, 0, 0, count(*), 0 FROM subscribers WHERE unsubscribed_at IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT bounced_at::date, 0, 0, 0, count(*) FROM email_campaign_metrics WHERE bounced_at IS NOT NULL GROUP BY 1
) AS events
GROUP BY day
WITH DATA;
CREATE UNIQUE INDEX report_newsletter_daily_key ON report_newsletter_daily (day);
COMMENT ON MATERIALIZED VIEW report_newsletter_daily IS 'Per day (practice time zone): newsletter sign-ups, confirmations, unsubscribes and bounced campaign emails.';

CREATE MATERIALIZED VIEW report_campaign_engagement AS
SELECT c.id AS campaign_id,
       coalesce(c.sent_at, c.send_started_at)::date AS day,
       c.subject,
       count(m.id) FILTER (WHERE m.sent_at IS NOT NULL) AS sent,
       count(m.id) FILTER (WHERE m.opened_at IS NOT NULL) AS opened,
       count(m.id) FILTER (WHERE m.clicked_at IS NOT NULL) AS clicked,
       count(m.id) FILTER (WHERE m.unsubscribed_at IS NOT NULL) AS unsubscribed,
       count(m.id) FILTER (WHERE m.bounced_at IS NOT NULL) AS bounced
FROM newsletter_campaigns c
LEFT JOIN email_campaign_metrics m ON m.campaign_id = c.id
WHERE coalesce(c.sent_at, c.send_started_at) IS NOT NULL
GROUP BY c.id
WITH DATA;
CREATE UNIQUE INDEX report_campaign_engagement_key ON report_campaign_engagement (campaign_id);
CREATE INDEX report_campaign_engagement_day ON report_campaign_engagement (day);
COMMENT ON MATERIALIZED VIEW report_campaign_engagement IS 'Per campaign that has been sent: the day sending started or ended (practice time zone), subject, and how many recipients were sent, opened, clicked, unsubscribed, bounced.';
"""

DROP = """
DROP MATERIALIZED VIEW IF EXISTS report_campaign_engagement;
DROP MATERIALIZED VIEW IF EXISTS report_newsletter_daily;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0080_subscriber_consent_proof"),
        ("notifications", "0005_email_queue_equality_indexes"),
    ]

    operations = [migrations.RunSQL([ZONE, CREATE], reverse_sql=DROP)]
