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
    # Past sessions attended and paid come from the documents demo (demo_documents.py).
    assert first == [
        ("HELD", "scheduled", ("session_fee:authorized",)),
        ("HOST-CANCELLED", "cancelled", ("session_fee:released",)),
        ("MOVED-FROM", "rescheduled", ("session_fee:released",)),
        ("MOVED-TO", "scheduled", ("session_fee:authorized",)),
        ("NOSHOW", "no_show", ("no_show_fee:pending", "session_fee:released")),
    ]
    moved = AppointmentData.objects.get(calendly_invitee_uri__endswith="DEMO-MONEY-MOVED-TO")
    assert moved.rescheduled_from.status == "rescheduled"
    assert AppointmentPayment.objects.filter(idempotency_key__contains="-hold-").count() == 5
    assert AppointmentPayment.objects.filter(
        user=moved.user, kind="session_fee", status="captured", appointment__status="completed"
    ).exists()


def test_without_the_documents_demo_the_money_demo_adds_a_paid_session():
    from accounts.models import User
    from appointments.demo import seed as appointments_seed
    from appointments.demo_money import seed_money
    from tests.factories.accounts import UserFactory

    UserFactory(email="member@bloom.test")
    appointments_seed(stdout=StringIO())  # includes the documents demo: it has paid sessions
    member = User.objects.get(email="member@bloom.test")
    AppointmentPayment.objects.filter(user=member, status="captured").update(status="refunded")
    seed_money(stdout=StringIO())
    seed_money(stdout=StringIO())

    attended = AppointmentData.objects.get(calendly_invitee_uri__endswith="DEMO-MONEY-ATTENDED")
    assert [p.status for p in attended.payments.all()] == ["captured"]
