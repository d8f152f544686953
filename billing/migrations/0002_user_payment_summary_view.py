"""The user_payment_summary view: one row per user with their payment totals (docs/billing.md)."""

from django.db import migrations

CREATE_VIEW = """
CREATE VIEW user_payment_summary AS
SELECT
    u.id AS user_id,
    COALESCE(p.total_paid, 0)::numeric(10, 2) AS total_paid,
    COALESCE(p.total_refunded, 0)::numeric(10, 2) AS total_refunded,
    (COALESCE(p.total_paid, 0) - COALESCE(p.total_refunded, 0))::numeric(10, 2) AS net_paid,
    COALESCE(p.payment_count, 0)::integer AS payment_count,
    COALESCE(r.refund_count, 0)::integer AS refund_count,
    COALESCE(r.open_refund_requests, 0)::integer AS open_refund_requests,
    COALESCE(p.disputed_count, 0)::integer AS disputed_count,
    p.first_payment_at,
    p.last_payment_at
FROM users u
LEFT JOIN (
    SELECT
        user_id,
        SUM(amount) AS total_paid,
        SUM(amount_refunded) AS total_refunded,
        COUNT(*) AS payment_count,
        COUNT(*) FILTER (WHERE disputed) AS disputed_count,
        MIN(COALESCE(paid_at, created_at)) AS first_payment_at,
        MAX(COALESCE(paid_at, created_at)) AS last_payment_at
    FROM payment_intents
    WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND amount > 0
    GROUP BY user_id
) p ON p.user_id = u.id
LEFT JOIN (
    SELECT
        user_id,
        COUNT(*) FILTER (WHERE status = 'refunded') AS refund_count,
        COUNT(*) FILTER (WHERE status IN ('requested', 'approved', 'processing')) AS open_refund_requests
    FROM refund_requests
    GROUP BY user_id
) r ON r.user_id = u.id;
"""

DROP_VIEW = "DROP VIEW IF EXISTS user_payment_summary;"


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(CREATE_VIEW, reverse_sql=DROP_VIEW)]
