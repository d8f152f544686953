"""Good Faith Estimates: issued when she accepts a policy, and her PDF (only ever hers)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import gfe
from appointments.booking import booking_policy_accept
from appointments.models import GoodFaithEstimate
from tests.appointments import support_booking
from tests.appointments.support_booking import accept, seen, with_card
from tests.factories.accounts import UserFactory
from tests.factories.appointments import GoodFaithEstimateFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db

bookable = support_booking.bookable


def _pdf_url(estimate) -> str:
    return reverse("appointments:gfe_pdf", args=[estimate.pk])


def test_accepting_the_policy_issues_an_estimate_of_fee_times_expected_sessions(client, member, bookable):
    with_card(member)
    client.force_login(member)
    accept(client, bookable)

    [estimate] = GoodFaithEstimate.objects.filter(user=member)
    assert estimate.therapist == bookable
    assert estimate.session_fee == Decimal("175.00")
    assert estimate.session_count == 12
    assert estimate.total == Decimal("2100.00")
    assert estimate.service_code == "90834"  # a 50-minute session
    assert estimate.valid_until == timezone.localdate() + timedelta(days=365)
    assert list(gfe.good_faith_estimate_list_for_member(member=member)) == [estimate]


def test_the_expected_sessions_come_from_settings_and_the_code_from_the_length(member, settings):
    settings.BLOOM_GFE_EXPECTED_SESSIONS = 8
    therapist = TherapistProfileFactory(session_fee=None, hourly_rate=Decimal("200.00"), session_minutes=60)
    estimate = gfe.good_faith_estimate_issue(member=member, therapist=therapist)
    assert (estimate.session_fee, estimate.session_count, estimate.total) == (
        Decimal("200.00"),
        8,
        Decimal("1600.00"),
    )
    assert estimate.service_code == "90837"
    assert gfe.service_code_for(30) == ("90832", "Psychotherapy, 30 minutes")


def test_a_valid_estimate_is_not_issued_twice_but_a_new_fee_or_an_expired_one_gets_a_new_one(member, bookable):
    first = gfe.good_faith_estimate_issue(member=member, therapist=bookable)
    assert gfe.good_faith_estimate_issue(member=member, therapist=bookable) == first

    bookable.session_fee = Decimal("190.00")
    bookable.save()
    second = gfe.good_faith_estimate_issue(member=member, therapist=bookable)
    assert second != first and second.total == Decimal("2280.00")

    later = second.valid_until + timedelta(days=1)
    third = gfe.good_faith_estimate_issue(member=member, therapist=bookable, today=later)
    assert third not in (first, second)
    assert GoodFaithEstimate.objects.filter(user=member).count() == 3


def test_no_fee_no_estimate_and_the_acceptance_still_holds(member):
    therapist = TherapistProfileFactory(session_fee=None, hourly_rate=None)
    with_card(member)
    acceptance = booking_policy_accept(member=member, therapist=therapist, terms_seen=seen(therapist))
    assert acceptance.pk is not None
    assert not GoodFaithEstimate.objects.exists()


def test_the_pdf_has_the_estimate_the_provider_the_practice_and_the_no_surprises_wording(
    client, member, bookable, settings
):
    settings.BLOOM_PRACTICE_NAME = "Bloom Test Practice"
    settings.BLOOM_PRACTICE_ADDRESS = "1 Garden Row, Pasadena, CA 91101"
    settings.BLOOM_PRACTICE_TAX_ID = "12-3456789"
    estimate = gfe.good_faith_estimate_issue(member=member, therapist=bookable)
    client.force_login(member)

    response = client.get(_pdf_url(estimate))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    body = response.content
    assert body.startswith(b"%PDF")
    for text in (
        "Good Faith Estimate",
        member.get_full_name(),
        "Dr. Ada Hart",
        "NPI: 1234567893",
        "Bloom Test Practice",
        "1 Garden Row, Pasadena, CA 91101",
        "Tax ID: 12-3456789",
        "90834",
        "$175.00",
        "$2,100.00",
        "If you receive a bill that is at least $400 more than your Good Faith Estimate, you can dispute the bill.",
        "www.cms.gov/nosurprises",
    ):
        assert text.encode() in body, text


def test_another_members_estimate_is_404(client, member):
    theirs = GoodFaithEstimateFactory(user=UserFactory())
    client.force_login(member)
    assert client.get(_pdf_url(theirs)).status_code == 404


def test_the_pdf_needs_a_sign_in(client):
    estimate = GoodFaithEstimateFactory()
    response = client.get(_pdf_url(estimate))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_pdf_query_count_is_fixed(client, member, django_assert_num_queries):
    estimate = GoodFaithEstimateFactory(user=member)
    GoodFaithEstimateFactory(user=member)
    client.force_login(member)
    client.get(_pdf_url(estimate))
    with django_assert_num_queries(3):  # session, user with profile (time zone), the estimate with its therapist
        assert client.get(_pdf_url(estimate)).status_code == 200


def test_the_list_for_her_documents_is_hers_only_in_one_query(member, django_assert_num_queries):
    mine = [GoodFaithEstimateFactory(user=member), GoodFaithEstimateFactory(user=member)]
    GoodFaithEstimateFactory()
    with django_assert_num_queries(1):
        listed = list(gfe.good_faith_estimate_list_for_member(member=member))
        names = [estimate.therapist.display_name for estimate in listed]
    assert set(listed) == set(mine) and len(names) == 2


def test_estimates_keep_their_terms_when_the_therapist_changes_later(member, bookable):
    estimate = gfe.good_faith_estimate_issue(member=member, therapist=bookable, today=date(2026, 12, 1))
    bookable.session_fee = Decimal("300.00")
    bookable.save()
    estimate.refresh_from_db()
    assert estimate.session_fee == Decimal("175.00") and estimate.total == Decimal("2100.00")
