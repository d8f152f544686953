"""The demo data shows every state of the money flow, and seeding twice adds nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from appointments.models import AppointmentData, AppointmentPayment

pytestmark = pytest.mark.django_db


def _states():
    return sorted(
        (
            a.calendly_invitee_uri.rsplit("DEMO-MONEY-", 1)[1],
            a.status,
            tuple(sorted(p.kind + ":" + p.status for p in a.payments.all())),
        )
        for a in AppointmentData.objects.filter(calendly_invitee_uri__contains="DEMO-MONEY-").prefetch_related(
            "payments"
        )
    )


def test_the_demo_money_flow_is_seeded_once():
    call_command("seed_demo", stdout=StringIO())
    first = _states()
    call_command("seed_demo", stdout=StringIO())

    assert _states() == first
    assert first == [
        ("ATTENDED", "completed", ("session_fee:captured",)),
        ("HELD", "scheduled", ("session_fee:authorized",)),
        ("HOST-CANCELLED", "cancelled", ("session_fee:released",)),
        ("MOVED-FROM", "rescheduled", ("session_fee:released",)),
        ("MOVED-TO", "scheduled", ("session_fee:authorized",)),
        ("NOSHOW", "no_show", ("no_show_fee:pending", "session_fee:released")),
    ]
    moved = AppointmentData.objects.get(calendly_invitee_uri__endswith="DEMO-MONEY-MOVED-TO")
    assert moved.rescheduled_from.status == "rescheduled"
    assert AppointmentPayment.objects.filter(idempotency_key__startswith="appt-").count() == 7
