"""The demo shows booking in every state: therapists with fees and hours, one not accepting,
and the demo member with an accepted policy and a Good Faith Estimate."""

from io import StringIO

import pytest
from django.core.management import call_command

from appointments.booking import STEP_READY, booking_gate_get
from appointments.models import BookingPolicyAcceptance, GoodFaithEstimate, TherapistProfile

pytestmark = pytest.mark.django_db


def test_demo_booking_data_is_complete_and_idempotent():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    therapists = list(TherapistProfile.objects.all())
    assert len(therapists) == 3
    assert all(t.who_i_help and t.session_fee and t.npi and t.photo_url for t in therapists)
    assert all(t.availability.exists() for t in therapists)
    assert [t.display_name for t in therapists if not t.is_accepting_clients] == ["Priya Raman"]

    acceptance = BookingPolicyAcceptance.objects.get()
    assert acceptance.user.email == "member@bloom.test"
    assert acceptance.therapist.display_name == "Dr. Jana Rundle"
    assert acceptance.consent.text_version == acceptance.policy_version
    estimate = GoodFaithEstimate.objects.get()
    assert (estimate.user, estimate.therapist) == (acceptance.user, acceptance.therapist)
    assert booking_gate_get(member=acceptance.user, therapist=acceptance.therapist).step == STEP_READY
