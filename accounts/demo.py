"""Demo member and staff owner for `make run` (never for production data)."""

from allauth.account.models import EmailAddress
from django.utils import timezone

from .models import AdminRole, AdminUser, User
from .roles import roles_sync_defaults
from .services import WELCOME_ACHIEVEMENT, achievement_award, admin_user_role_set, member_records_ensure

DEMO_LOGINS = [
    ("member", "member@bloom.test", "bloom-member-2026"),
    ("staff", "owner@bloom.test", "bloom-owner-2026"),
]


def _user(email: str, password: str, **extra) -> User:
    user, created = User.objects.get_or_create(email=email, defaults=extra)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def seed(*, stdout) -> None:
    member = _user(DEMO_LOGINS[0][1], DEMO_LOGINS[0][2], first_name="Maya", last_name="Demo")
    profile = member_records_ensure(user=member, marketing_consent=True)
    if not profile.onboarding_completed:
        profile.first_name, profile.last_name, profile.preferred_name = "Maya", "Demo", "Maya"
        profile.stage = "postpartum"
        profile.email_verified, profile.email_verified_at = True, timezone.now()
        profile.onboarding_completed, profile.onboarding_completed_at = True, timezone.now()
        profile.save()
    owner = _user(
        DEMO_LOGINS[1][1], DEMO_LOGINS[1][2], first_name="Olivia", last_name="Owner", is_staff=True, is_superuser=True
    )
    member_records_ensure(user=owner)
    key, title, description = WELCOME_ACHIEVEMENT
    achievement_award(user=member, key=key, title=title, description=description)
    admin_user, _ = AdminUser.objects.get_or_create(user=owner, defaults={"display_name": "Olivia Owner"})
    roles_sync_defaults()
    admin_user_role_set(admin_user=admin_user, role=AdminRole.objects.get(slug="owner"))
    stdout.write(
        "  staff roles: owner, clinician, content_editor, support (the owner sets up TOTP at first /admin/ visit)"
    )
