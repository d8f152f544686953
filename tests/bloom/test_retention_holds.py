"""Retention never touches what is still needed (docs/adr/0350): holds keep every row of a member."""

import pytest

from accounts.models import ConsentRecord, WellnessEntry
from appointments.models import AppointmentStatus
from bloom.retention import retention_apply
from tests.bloom.retention_support import aged, ago, inactive, run_retention
from tests.factories.accounts import ConsentRecordFactory, RiskAlertFactory, UserFactory, WellnessEntryFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.courses import CourseEnrollmentFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory

pytestmark = pytest.mark.django_db

LONG_AGO = 2600  # past every member-data limit (wellness 731, consent 2192, clinical 2557)


def _member_with_old_rows():
    member = inactive(UserFactory(), LONG_AGO)
    entry = aged(WellnessEntryFactory(user=member), LONG_AGO, "entry_date")
    consent = aged(ConsentRecordFactory(user=member), LONG_AGO)
    return member, [entry, consent]


def _kept(rows) -> bool:
    return all(type(row).objects.filter(pk=row.pk).exists() for row in rows)


HOLDS = {
    "scheduled appointment": lambda member: AppointmentDataFactory(user=member, status=AppointmentStatus.SCHEDULED),
    "active course enrollment": lambda member: CourseEnrollmentFactory(user=member),
    "unacknowledged risk alert": lambda member: RiskAlertFactory(user=member),
    "upcoming workshop registration": lambda member: WorkshopRegistrationFactory(user=member),
}


@pytest.mark.parametrize("hold", sorted(HOLDS))
def test_a_hold_keeps_every_row_of_hers_and_the_others_still_go(hold):
    held, held_rows = _member_with_old_rows()
    HOLDS[hold](held)
    _other, other_rows = _member_with_old_rows()

    run_retention()

    assert _kept(held_rows)
    assert not WellnessEntry.objects.filter(pk=other_rows[0].pk).exists()
    assert not ConsentRecord.objects.filter(pk=other_rows[1].pk).exists()


def test_a_hold_ends_when_what_needed_her_rows_is_over():
    member, rows = _member_with_old_rows()
    WorkshopRegistrationFactory(
        user=member, workshop=WorkshopFactory(starts_at=ago(LONG_AGO), ends_at=ago(LONG_AGO - 1))
    )
    run_retention()
    assert not _kept(rows)


def test_a_legal_hold_by_email_keeps_her_rows(settings):
    member, rows = _member_with_old_rows()
    settings.BLOOM_RETENTION_LEGAL_HOLD_EMAILS = [member.email.upper()]
    run_retention()
    assert _kept(rows)


def test_the_dry_run_and_the_results_say_how_many_rows_a_hold_kept():
    held, _rows = _member_with_old_rows()
    RiskAlertFactory(user=held)
    _member_with_old_rows()

    out = run_retention("--dry-run")

    assert (
        "consent_records of members inactive past the limit (over 2192 days): 1 due, would delete; 1 kept by a hold"
        in out
    )
    by_name = {r.policy.name: r for r in retention_apply(only="consent_records")}
    result = by_name["consent_records of members inactive past the limit"]
    assert (result.due, result.changed, result.held) == (1, 1, 1)
