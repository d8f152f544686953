"""The demo data shows "From your therapist": the demo clinician suggested a lesson to Maya."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import CareAssignment, User

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_the_demo_member_one_suggestion_from_her_clinician_once(client):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    maya = User.objects.get(email="member@bloom.test")
    assignment = CareAssignment.objects.get(user=maya)
    assert (assignment.kind, assignment.clinician.email) == ("lesson", "clinician@bloom.test")
    client.force_login(maya)
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert "From your therapist" in html and "Building your calm plan" in html
    assert "You showed up in" in html  # her demo check-ins count week by week
