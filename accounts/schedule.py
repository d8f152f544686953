"""Periodic tasks of accounts (collected by bloom/beat.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Every minute, so an alert waits at most a minute past BLOOM_RISK_ALERT_ESCALATE_AFTER.
    "accounts-risk-alerts-escalate": {"task": "accounts.risk_alerts_escalate_task", "schedule": 60.0},
    # 17:05 UTC is morning across the US; each point is offered once, whichever run reaches it.
    "accounts-screening-reminders": {
        "task": "accounts.screening_reminders_send_task",
        "schedule": crontab(hour=17, minute=5),
    },
    # 16:35 UTC, the working morning in the US; the idempotency key keeps it to one email a day.
    "accounts-data-request-reminders": {
        "task": "accounts.data_request_reminders_send_task",
        "schedule": crontab(hour=16, minute=35),
    },
    # Hourly: the goodbye email to an erased member keeps her address only until it has gone.
    "accounts-data-request-farewells-scrub": {
        "task": "accounts.data_request_farewells_scrub_task",
        "schedule": crontab(minute=50),
    },
}
