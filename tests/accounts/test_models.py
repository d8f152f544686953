import datetime

import pytest
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AdminUser, UserAchievement, UserPreferences, UserProfile
from accounts.services import achievement_award, data_request_create
from bloom.exceptions import ApplicationError
from tests.factories.accounts import (
    AdminActivityLogFactory,
    AdminRolePermissionFactory,
    AdminSessionFactory,
    AdminUserFactory,
    DataRequestFactory,
    StaffUserFactory,
    UserFactory,
    UserPreferencesFactory,
    UserProfileFactory,
    WellnessEntryFactory,
)

pytestmark = pytest.mark.django_db


def test_factories_build_consistent_related_rows():
    member = UserFactory()
    assert member.emailaddress_set.get().email == member.email
    assert UserProfile.objects.filter(user=member).count() == 1
    assert UserPreferences.objects.filter(user=member).count() == 1

    staff = StaffUserFactory()
    assert staff.is_staff and AdminUser.objects.get(user=staff).display_name
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    assert not Authenticator.objects.filter(user=StaffUserFactory(mfa=False)).exists()

    grant = AdminRolePermissionFactory()
    assert list(grant.role.group.permissions.all()) == [grant.permission]
    admin_user = AdminUserFactory(role=grant.role)
    assert admin_user.user.is_staff
    assert admin_user.user.has_perm("accounts.view_userprofile")

    # Profile and preferences factories return the row every user already has.
    profile = UserProfileFactory(user=member)
    assert profile.pk == member.profile.pk
    assert UserPreferencesFactory(user=member).pk == UserPreferences.objects.get(user=member).pk

    session = AdminSessionFactory()
    assert session.admin_user.user.is_staff
    log = AdminActivityLogFactory()
    assert log.user == log.admin_user.user


def test_user_factory_member_can_sign_in_and_is_verified():
    user = UserFactory()
    assert user.emailaddress_set.get().verified is True
    assert user.profile.email_verified is True
    assert user.profile.onboarding_completed is True
    assert UserFactory(onboarded=False).profile.onboarding_completed is False


def test_achievement_is_unique_per_member_and_key():
    member = UserFactory()
    first, created = achievement_award(user=member, key="welcome", title="Completed onboarding")
    again, created_again = achievement_award(user=member, key="welcome", title="Something else")
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        UserAchievement.objects.create(user=member, key="welcome", title="dup")


def test_one_wellness_entry_per_member_per_day():
    entry = WellnessEntryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        WellnessEntryFactory(user=entry.user, entry_date=entry.entry_date)


@pytest.mark.parametrize("field", ["mood", "anxiety", "energy", "support", "sleep_hours"])
def test_wellness_scores_are_checked_on_every_write(field):
    # Encrypted (docs/adr/0330): the database cannot check them, the field does before encrypting.
    with pytest.raises(ValidationError), transaction.atomic():
        WellnessEntryFactory(**{field: 25 if field == "sleep_hours" else 6})


def test_future_wellness_entry_is_refused():
    from accounts.services import wellness_entry_record

    with pytest.raises(ApplicationError):
        wellness_entry_record(
            member=UserFactory(), entry_date=timezone.localdate() + datetime.timedelta(days=2), mood=3
        )


def test_one_open_data_request_per_kind():
    member = UserFactory()
    data_request_create(member=member, kind="export")
    with pytest.raises(ApplicationError):
        data_request_create(member=member, kind="export")
    data_request_create(member=member, kind="delete")
    closed = DataRequestFactory(user=UserFactory(), status="completed")
    DataRequestFactory(user=closed.user)  # a new request after a completed one is fine


def test_orphan_checks_find_and_fix_missing_member_records():
    from accounts.models import User, UserProfile
    from accounts.orphans import CHECKS

    bare = User.objects.create_user("bare@example.com", "x-Long-password-1")
    UserFactory()
    check = CHECKS[0]
    assert list(check.find()) == [bare]
    assert check.fix(check.find()) == 1
    assert UserProfile.objects.filter(user=bare).exists()
    assert not check.find().exists()


def test_orphan_check_ends_sessions_of_former_staff():
    from accounts.orphans import CHECKS

    session = AdminSessionFactory()
    check = CHECKS[1]
    assert not check.find().exists()
    type(session.admin_user.user).objects.filter(pk=session.admin_user.user_id).update(is_staff=False)
    assert check.fix(check.find()) == 1
    session.refresh_from_db()
    assert session.ended_at is not None


def test_demo_seed_is_idempotent_and_gives_the_owner_a_role():
    from io import StringIO

    from accounts import demo
    from accounts.models import AdminUser, User

    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    owner = AdminUser.objects.get(user__email="owner@bloom.test")
    assert owner.role.slug == "owner"
    member = User.objects.get(email="member@bloom.test")
    assert member.profile.onboarding_completed is True
    assert list(member.achievements.values_list("key", flat=True)) == ["welcome"]
