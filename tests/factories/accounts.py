"""Factories for accounts models. Other apps import `UserFactory` (a verified member)."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import (
    AdminAction,
    AdminActivityLog,
    AdminRole,
    AdminRolePermission,
    AdminSession,
    AdminUser,
    CalendarFeed,
    CareAssignment,
    ConsentKind,
    ConsentRecord,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    MemberPause,
    MemberScreeningPoint,
    RiskAlert,
    RiskSource,
    ScreeningPointStatus,
    ScreeningResponse,
    ScreeningSchedulePoint,
    SecurityEvent,
    StaffInvitation,
    User,
    UserAchievement,
    UserPreferences,
    UserProfile,
    WellnessEntry,
)
from accounts.services import admin_user_role_set, member_records_ensure, role_permissions_sync

DEFAULT_PASSWORD = "a-Long-test-passphrase-2026"


class UserFactory(factory.django.DjangoModelFactory):
    """A member who can sign in: verified primary address, profile and preferences.

    Onboarding is finished by default (the dashboard does not redirect);
    `UserFactory(onboarded=False)` leaves it unfinished. Password: `DEFAULT_PASSWORD`.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_staff = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", DEFAULT_PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)

    @factory.post_generation
    def onboarded(obj, create, extracted, **kwargs):
        if not create:
            return
        EmailAddress.objects.update_or_create(user=obj, email=obj.email, defaults={"verified": True, "primary": True})
        profile = member_records_ensure(user=obj)
        now = timezone.now()
        profile.email_verified, profile.email_verified_at = True, now
        profile.first_name, profile.last_name = obj.first_name, obj.last_name
        if extracted is None or extracted:
            profile.onboarding_completed, profile.onboarding_completed_at, profile.onboarding_step = True, now, 4
        profile.save()
        obj.profile = profile


class StaffUserFactory(UserFactory):
    """A staff user with an `admin_users` row and, unless `mfa=False`, a TOTP authenticator
    (so the staff MFA middleware lets them into the admin)."""

    email = factory.Sequence(lambda n: f"staff{n}@bloom.test")
    is_staff = True

    @factory.post_generation
    def mfa(obj, create, extracted, **kwargs):
        if not create:
            return
        AdminUserFactory(user=obj)
        if extracted is None or extracted:
            totp_authenticator_create(user=obj)


def totp_authenticator_create(*, user: User):
    """Activate TOTP for a user the way allauth stores it (encrypted secret in `data`)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    return TOTP.activate(user, generate_totp_secret()).instance


class AdminRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminRole
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Role {n}")
    slug = factory.Sequence(lambda n: f"role-{n}")
    description = "A test role."
    group = factory.LazyAttribute(lambda o: Group.objects.get_or_create(name=f"Role: {o.name}")[0])


class AdminUserFactory(factory.django.DjangoModelFactory):
    """A staff member's `admin_users` row; with `role=...` the user also joins the role's group."""

    class Meta:
        model = AdminUser
        django_get_or_create = ("user",)
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_staff=True)
    display_name = factory.LazyAttribute(lambda o: o.user.get_full_name())
    role = None

    @factory.post_generation
    def join_role_group(obj, create, extracted, **kwargs):
        if create and obj.role is not None:
            admin_user_role_set(admin_user=obj, role=obj.role)


class UserProfileFactory(factory.django.DjangoModelFactory):
    """The member's profile (profiles come with every user: this returns and updates that row)."""

    class Meta:
        model = UserProfile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class UserPreferencesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserPreferences
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class UserAchievementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserAchievement

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"achievement-{n}")
    title = "A milestone"
    description = "Something worth celebrating."


class WellnessEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WellnessEntry

    user = factory.SubFactory(UserFactory)
    entry_date = factory.Sequence(lambda n: timezone.localdate() - datetime.timedelta(days=n))
    mood = 3
    sleep_hours = Decimal("7.0")
    anxiety = 2
    energy = 3
    support = 4
    notes = "Slept better after the walk."


class AdminSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminSession

    admin_user = factory.SubFactory(AdminUserFactory)
    session_key = factory.Sequence(lambda n: f"session{n:032d}")
    ip_address = "127.0.0.1"
    user_agent = "pytest"


class AdminActivityLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminActivityLog

    admin_user = factory.SubFactory(AdminUserFactory)
    user = factory.LazyAttribute(lambda o: o.admin_user.user)
    action = AdminAction.CHANGE
    object_type = "accounts.userprofile"
    object_id = factory.Sequence(str)
    object_repr = "Profile"
    changes = factory.LazyFunction(lambda: {"message": [{"changed": {"fields": ["stage"]}}]})
    ip_address = "127.0.0.1"


class AdminRolePermissionFactory(factory.django.DjangoModelFactory):
    """A permission of a role, mirrored onto the role's Django group as the admin does."""

    class Meta:
        model = AdminRolePermission
        skip_postgeneration_save = True

    role = factory.SubFactory(AdminRoleFactory)
    permission = factory.LazyFunction(lambda: Permission.objects.get(codename="view_userprofile"))

    @factory.post_generation
    def sync_group(obj, create, extracted, **kwargs):
        if create:
            role_permissions_sync(role=obj.role)


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRecord

    user = factory.SubFactory(UserFactory)
    kind = ConsentKind.MARKETING
    granted = True
    source = "signup"
    ip_address = "127.0.0.1"


class DataRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataRequest

    user = factory.SubFactory(UserFactory)
    kind = DataRequestKind.EXPORT
    status = DataRequestStatus.PENDING


class SecurityEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecurityEvent

    event_type = "login_failed"
    severity = SecurityEvent.Severity.WARNING
    user = factory.SubFactory(UserFactory)
    ip_address = "127.0.0.1"
    details = factory.LazyFunction(dict)


# --- Screening and crisis routing ---------------------------------------------------------


class ScreeningSchedulePointFactory(factory.django.DjangoModelFactory):
    """A postpartum EPDS point at a week no default point uses (unique per stage, week, instrument)."""

    class Meta:
        model = ScreeningSchedulePoint

    name = factory.Sequence(lambda n: f"Check-in {n}")
    stage = "postpartum"
    week = factory.Sequence(lambda n: 60 + n % 90)
    instrument = "epds"
    window_weeks = 2


class ScreeningResponseFactory(factory.django.DjangoModelFactory):
    """A low EPDS result: every question answered with its zero-scoring option."""

    class Meta:
        model = ScreeningResponse

    user = factory.SubFactory(UserFactory)
    instrument = "epds"
    answers = factory.LazyFunction(
        lambda: json.dumps({"1": 0, "2": 0, "3": 3, "4": 0, **{str(n): 3 for n in range(5, 11)}})
    )
    total = 0
    band = "low"
    urgent = False
    taken_at = factory.LazyFunction(timezone.now)
    perinatal_stage = "postpartum"
    perinatal_week = 6


class MemberScreeningPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MemberScreeningPoint

    user = factory.SubFactory(UserFactory)
    point = factory.SubFactory(ScreeningSchedulePointFactory)
    anchor_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(weeks=6))
    status = ScreeningPointStatus.DUE


class RiskAlertFactory(factory.django.DjangoModelFactory):
    """An open alert from an urgent screening (no emails: built directly, not by the service)."""

    class Meta:
        model = RiskAlert

    user = factory.SubFactory(UserFactory)
    source = RiskSource.SCREENING
    reason = "EPDS question 10 (thoughts of harming oneself) answered above zero"
    screening_response = factory.SubFactory(
        ScreeningResponseFactory, user=factory.SelfAttribute("..user"), urgent=True, total=1
    )


class MemberPauseFactory(factory.django.DjangoModelFactory):
    """A three-week break that started now."""

    class Meta:
        model = MemberPause

    user = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(weeks=3))


class CareAssignmentFactory(factory.django.DjangoModelFactory):
    """A course a clinician suggested to a client (the item is named by kind and id)."""

    class Meta:
        model = CareAssignment

    user = factory.SubFactory(UserFactory)
    clinician = factory.SubFactory(StaffUserFactory)
    kind = "course"
    object_id = factory.LazyFunction(uuid.uuid4)
    title = "Calm in the fourth trimester"
    note = "Try the first two lessons before we meet."


class CalendarFeedFactory(factory.django.DjangoModelFactory):
    """A member's calendar feed; the digest is of a random token nobody knows (use the service for a URL)."""

    class Meta:
        model = CalendarFeed

    user = factory.SubFactory(UserFactory)
    token_hash = factory.LazyFunction(lambda: uuid.uuid4().hex + uuid.uuid4().hex)


class StaffInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffInvitation

    email = factory.Sequence(lambda n: f"colleague{n}@bloom.test")
    role = factory.SubFactory(AdminRoleFactory)
    invited_by = factory.SubFactory(StaffUserFactory)
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))
