"""Periodic workshops jobs (collected by bloom/beat.py)."""

BEAT_SCHEDULE = {
    "workshops-waitlist-offers-expire": {"task": "workshops.waitlist_offers_expire_task", "schedule": 300.0},
    "workshops-unpaid-seats-release": {"task": "workshops.registrations_unpaid_release_task", "schedule": 300.0},
    # Confirmations and waitlist notices whose task was lost while Redis was down.
    "workshops-registration-notices-sweep": {"task": "workshops.registration_notices_sweep_task", "schedule": 60.0},
}
