"""What she shares "with her clinician" reaches her care team only: her profile's clinician and the
therapist of her sessions. Other clinicians see scores and alerts, not what she shared; owners see all."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AdminRole
from accounts.roles import roles_sync_defaults
from accounts.services import admin_user_role_set, wellness_share_set
from tests.factories.accounts import (
    AdminUserFactory,
    ScreeningResponseFactory,
    StaffUserFactory,
    UserFactory,
    WellnessEntryFactory,
)
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False


def _staff(slug: str) -> Client:
    roles_sync_defaults()
    user = StaffUserFactory()
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug=slug))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def _sharing_member():
    member = UserFactory()
    wellness_share_set(member=member, shared=True)
    WellnessEntryFactory(user=member, notes="Only for my care team")
    return member


def _sees(client, member) -> bool:
    return member.email in client.get(reverse("admin:accounts_wellnessentry_changelist")).content.decode()


def test_her_profile_clinician_and_her_therapist_see_what_she_shared_another_clinician_does_not():
    mine, therapist, other = _staff("clinician"), _staff("clinician"), _staff("clinician")
    member = _sharing_member()
    member.profile.care_clinician = mine.user
    member.profile.save()
    AppointmentDataFactory(user=member, therapist=TherapistProfileFactory(user=therapist.user))
    assert _sees(mine, member) and _sees(therapist, member)
    assert not _sees(other, member)


def test_owners_see_every_member_who_shares():
    owner = _staff("owner")
    assert _sees(owner, _sharing_member())


def test_shared_screening_answers_show_only_to_her_care_team():
    mine, other = _staff("clinician"), _staff("clinician")
    member = UserFactory()
    member.profile.care_clinician = mine.user
    member.profile.save()
    response = ScreeningResponseFactory(user=member, shared_with_clinician=True)
    url = reverse("admin:accounts_screeningresponse_change", args=[response.pk])
    assert "Shared with her own clinicians only" not in mine.get(url).content.decode()
    # Another clinician does not find the result at all: clinicians see their own clients only (ADR 0300).
    assert other.get(url).status_code == 302
    assert other.get(reverse("admin:accounts_screeningresponse_changelist")).context["cl"].result_count == 0
