"""The event ledger: triggers record every change, the ledger refuses rewrites, verify finds drift."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from accounts.services import member_anonymize
from billing.models import PaymentIntent
from bloom.ledger import TRACKED, Drift, LedgerEvent, LedgerIsAppendOnly, ledger_context, ledger_drift_list, trigger_sql
from courses.models import CourseEnrollment
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory, AppointmentPaymentFactory
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory
from tests.factories.courses import CourseEnrollmentFactory
from tests.factories.ledger import LedgerEventFactory
from tests.factories.workshops import WorkshopRegistrationFactory
from tests.ledger import events_of

pytestmark = pytest.mark.django_db


def _sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def _trigger_off(table: str, trigger: str):
    """A hand-made drift: the ledger trigger is off while the block changes the table."""
    _sql("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred foreign-key check
    _sql(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    try:
        yield
    finally:
        _sql("SET CONSTRAINTS ALL IMMEDIATE")
        _sql(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        _sql("SET CONSTRAINTS ALL DEFERRED")


def test_every_tracked_table_has_its_triggers():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, count(*) FROM pg_trigger WHERE tgname LIKE 'ledger_record_%%' GROUP BY 1"
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(TRACKED, 3)


@pytest.mark.parametrize(
    ("make", "state_column", "change_to", "expected"),
    [
        (RefundRequestFactory, "status", "denied", ("requested", "denied")),
        (WorkshopRegistrationFactory, "status", "cancelled", ("registered/not_required", "cancelled/not_required")),
        (AppointmentDataFactory, "status", "cancelled", ("scheduled", "cancelled")),
        (AppointmentPaymentFactory, "status", "captured", ("authorized", "captured")),
    ],
    ids=["refund", "workshop_registration", "appointment", "appointment_payment"],
)
def test_each_tracked_table_records_creation_and_a_state_change(make, state_column, change_to, expected):
    row = make()
    type(row).objects.filter(pk=row.pk).update(**{state_column: change_to})

    first, then = expected
    assert events_of(row) == [("created", None, first), ("changed", first, then)]
    assert LedgerEvent.objects.filter(entity_id=row.pk).last().subject_id == row.user_id
    assert ledger_drift_list() == []


def test_insert_update_and_delete_of_a_payment_are_events_and_other_edits_are_not():
    payment = PaymentIntentFactory(amount=Decimal("45.00"))
    PaymentIntent.objects.filter(pk=payment.pk).update(description="Renamed")  # not state: no event
    PaymentIntent.objects.filter(pk=payment.pk).update(status="processing")  # a bulk update cannot skip it
    _sql("UPDATE payment_intents SET status = 'succeeded' WHERE id = %s", [payment.pk])  # nor can raw SQL
    _sql("UPDATE payment_intents SET amount_refunded = 5 WHERE id = %s", [payment.pk])  # money moved, same status
    _sql("DELETE FROM payment_intents WHERE id = %s", [payment.pk])

    assert events_of(payment) == [
        ("created", None, "requires_payment"),
        ("changed", "requires_payment", "processing"),
        ("changed", "processing", "succeeded"),
        ("changed", "succeeded", "succeeded"),
        ("deleted", "succeeded", None),
    ]
    refund_event = LedgerEvent.objects.filter(entity_id=payment.pk).order_by("id")[3]
    assert (refund_event.amount, refund_event.amount_refunded, refund_event.currency) == (
        Decimal("45.00"),
        Decimal("5.00"),
        "usd",
    )
    assert refund_event.subject_id == payment.user_id
    assert ledger_drift_list() == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE event_ledger SET to_state = 'refunded'",
        "DELETE FROM event_ledger",
        "UPDATE event_ledger SET to_state = 'x' WHERE false",  # refused even when it touches no row
        "TRUNCATE event_ledger",
    ],
)
def test_the_database_refuses_to_rewrite_the_ledger(statement):
    payment = PaymentIntentFactory()
    with pytest.raises(DatabaseError, match="event_ledger is append-only"), transaction.atomic():
        _sql(statement)
    assert events_of(payment) == [("created", None, "requires_payment")]


def test_truncate_is_allowed_only_with_every_tracked_table_empty():
    """Emptying the whole database (Django's flush between transactional tests) may take the ledger too."""
    with transaction.atomic():
        _sql(f"TRUNCATE event_ledger, {', '.join(TRACKED)} CASCADE")
        assert LedgerEvent.objects.count() == 0
        transaction.set_rollback(True)


def test_python_refuses_to_change_or_delete_an_event():
    event = LedgerEventFactory()
    event.to_state = "refunded"
    with pytest.raises(LedgerIsAppendOnly):
        event.save()
    with pytest.raises(LedgerIsAppendOnly):
        event.delete()
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEvent.objects.filter(pk=event.pk).update(to_state="refunded")
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEvent.objects.filter(pk=event.pk).delete()
    assert LedgerEvent.objects.get(pk=event.pk).to_state == "succeeded"


def test_a_status_changed_behind_the_ledgers_back_is_reported_with_the_entity_id():
    enrollment = CourseEnrollmentFactory()
    untouched = CourseEnrollmentFactory()
    with _trigger_off("course_enrollments", "ledger_record_update"):
        CourseEnrollment.objects.filter(pk=enrollment.pk).update(payment_status="refunded")
        assert Drift("course_enrollments", None, "ledger triggers missing or disabled") in ledger_drift_list()

    assert ledger_drift_list() == [
        Drift(
            "course_enrollments",
            str(enrollment.pk),
            "stored state differs",
            stored="refunded 0.00 0.00 usd",
            ledger="free 0.00 0.00 usd",
        )
    ]
    out = StringIO()
    with pytest.raises(CommandError, match="1 drift found"):
        call_command("ledger_verify", stdout=out)
    assert str(enrollment.pk) in out.getvalue()
    assert str(untouched.pk) not in out.getvalue()


def test_money_changed_behind_the_ledgers_back_is_drift_too():
    payment = PaymentIntentFactory(paid=True)
    with _trigger_off("payment_intents", "ledger_record_update"):
        _sql("UPDATE payment_intents SET amount_refunded = 30 WHERE id = %s", [payment.pk])
    [drift] = ledger_drift_list()
    assert (drift.entity_id, drift.problem) == (str(payment.pk), "stored state differs")
    assert drift.stored == "succeeded 100.00 30.00 usd"


def test_a_change_the_ledger_missed_is_a_gap_even_when_the_last_state_agrees():
    appointment = AppointmentDataFactory()
    with _trigger_off("appointment_data", "ledger_record_update"):
        _sql("UPDATE appointment_data SET status = 'completed' WHERE id = %s", [appointment.pk])
    _sql("UPDATE appointment_data SET status = 'no_show' WHERE id = %s", [appointment.pk])

    [gap] = ledger_drift_list()
    assert gap.entity_id == str(appointment.pk)
    assert gap.problem.startswith("gap before event #")
    assert (gap.stored, gap.ledger) == ("completed", "scheduled")


def test_rows_without_events_and_events_without_rows_are_reported():
    with _trigger_off("appointment_data", "ledger_record_insert"):
        silent = AppointmentDataFactory()
    gone = AppointmentDataFactory()
    with _trigger_off("appointment_data", "ledger_record_delete"):
        _sql("DELETE FROM appointment_data WHERE id = %s", [gone.pk])

    assert ledger_drift_list() == [
        Drift("appointment_data", str(silent.pk), "no events", stored="scheduled"),
        Drift("appointment_data", str(gone.pk), "row missing", ledger="scheduled"),
    ]


def test_the_migration_opens_existing_rows_so_verify_starts_at_zero():
    with _trigger_off("appointment_data", "ledger_record_insert"):
        before_the_ledger = AppointmentDataFactory()
    assert [d.problem for d in ledger_drift_list()] == ["no events"]

    _sql(trigger_sql(TRACKED["appointment_data"]))  # what appointments' ledger migration runs

    assert ledger_drift_list() == []
    opened = LedgerEvent.objects.get(entity_id=before_the_ledger.pk)
    assert (opened.kind, opened.to_state, opened.source) == ("opened", "scheduled", "migration")


def test_context_names_who_and_which_request_without_personal_data():
    staff = UserFactory(is_staff=True)
    with ledger_context(actor=str(staff.pk), source="admin", context_id="req-42"):
        payment = PaymentIntentFactory()
    outside = PaymentIntentFactory()

    event = LedgerEvent.objects.get(entity_id=payment.pk)
    assert (event.actor, event.source, event.context_id) == (str(staff.pk), "admin", "req-42")
    assert LedgerEvent.objects.values_list("actor", "source", "context_id").get(entity_id=outside.pk) == ("", "", "")


def test_the_ledger_survives_a_members_erasure_and_deletion():
    member = UserFactory(email="canary.member@example.com")
    payment = PaymentIntentFactory(user=member, paid=True)
    enrollment = CourseEnrollmentFactory(user=member)

    member_anonymize(member=member)
    enrollment_events = events_of(enrollment)
    CourseEnrollment.objects.filter(pk=enrollment.pk).delete()  # an account deletion cascades here

    assert events_of(payment) == [("created", None, "succeeded")]
    assert events_of(enrollment) == [*enrollment_events, ("deleted", "free", None)]
    assert set(
        LedgerEvent.objects.filter(entity_id__in=[payment.pk, enrollment.pk]).values_list("subject_id", flat=True)
    ) == {member.pk}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM event_ledger e WHERE e::text LIKE '%%canary%%'")
        assert cursor.fetchone()[0] == 0
    assert ledger_drift_list() == []


def test_verify_reports_zero_drift_with_a_progress_bar_on_chunks():
    PaymentIntentFactory.create_batch(5)
    out = StringIO()
    call_command("ledger_verify", "--chunk-size", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert "[########            ] payment_intents: 2/5 rows" in lines
    assert "[####################] payment_intents: 5/5 rows" in lines
    assert lines[-1].endswith("tracked tables checked, 0 drift found.")
