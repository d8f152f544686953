"""Demo member and staff owner for `make run` (never for production data)."""

import datetime
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.utils import timezone

from .admin_home import a_month_before
from .models import AdminRole, AdminUser, DataRequest, DataRequestKind, RiskAlert, RiskSource, User, WellnessEntry
from .roles import roles_sync_defaults
from .screening import EPDS
from .services import (
    WELCOME_ACHIEVEMENT,
    achievement_award,
    admin_user_role_set,
    member_records_ensure,
    policies_agree,
    screening_submit,
    wellness_share_set,
)

DEMO_LOGINS = [
    ("member", "member@bloom.test", "bloom-member-2026"),
    ("staff", "owner@bloom.test", "bloom-owner-2026"),
    ("clinician", "clinician@bloom.test", "bloom-clinician-2026"),
    ("manager", "manager@bloom.test", "bloom-manager-2026"),
    ("editor", "editor@bloom.test", "bloom-editor-2026"),
]


def _user(email: str, password: str, **extra) -> User:
    user, created = User.objects.get_or_create(email=email, defaults=extra)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def demo_member_ensure(*, email: str, first_name: str, last_name: str) -> User:
    """A demo member with no login (an unusable password) and her profile rows; idempotent.
    The other apps' demos use it for their clients and guests."""
    user, created = User.objects.get_or_create(email=email, defaults={"first_name": first_name, "last_name": last_name})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    member_records_ensure(user=user)
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
    # She agreed to the current terms and privacy notice (records, as at a real sign-up).
    policies_agree(member=member, source="demo")
    owner = _user(
        DEMO_LOGINS[1][1], DEMO_LOGINS[1][2], first_name="Olivia", last_name="Owner", is_staff=True, is_superuser=True
    )
    member_records_ensure(user=owner)
    key, title, description = WELCOME_ACHIEVEMENT
    achievement_award(user=member, key=key, title=title, description=description)
    admin_user, _ = AdminUser.objects.get_or_create(user=owner, defaults={"display_name": "Olivia Owner"})
    roles_sync_defaults()
    admin_user_role_set(admin_user=admin_user, role=AdminRole.objects.get(slug="owner"))
    # Dr. Jana Rundle's own login (appointments' demo links it to her therapist profile), so a
    # newcomer can walk the clinician's side: her clients' risk alerts and shared screenings.
    clinician = _user(DEMO_LOGINS[2][1], DEMO_LOGINS[2][2], first_name="Jana", last_name="Rundle", is_staff=True)
    member_records_ensure(user=clinician)
    clinician_admin, _ = AdminUser.objects.get_or_create(user=clinician, defaults={"display_name": "Dr. Jana Rundle"})
    admin_user_role_set(admin_user=clinician_admin, role=AdminRole.objects.get(slug="clinician"))
    # Pat runs the schedule: the practice calendar across clinicians, nothing clinical.
    manager = _user(DEMO_LOGINS[3][1], DEMO_LOGINS[3][2], first_name="Pat", last_name="Manager", is_staff=True)
    member_records_ensure(user=manager)
    manager_admin, _ = AdminUser.objects.get_or_create(user=manager, defaults={"display_name": "Pat Manager"})
    admin_user_role_set(admin_user=manager_admin, role=AdminRole.objects.get(slug="practice_manager"))
    # Eli writes the blog and courses; Pat reviews what Eli submits (content's demo puts a post in review).
    editor = _user(DEMO_LOGINS[4][1], DEMO_LOGINS[4][2], first_name="Eli", last_name="Editor", is_staff=True)
    member_records_ensure(user=editor)
    editor_admin, _ = AdminUser.objects.get_or_create(user=editor, defaults={"display_name": "Eli Editor"})
    admin_user_role_set(admin_user=editor_admin, role=AdminRole.objects.get(slug="content_editor"))
    stdout.write(
        "  staff roles: owner, clinician, on_call, practice_manager, content_editor, support "
        "(staff set up TOTP at their first /admin/ visit)"
    )
    _seed_screenings(member=member, stdout=stdout)
    _seed_wellness(member=member, stdout=stdout)
    _seed_needs_attention(stdout=stdout)


DEMO_ALERT_REASON = "Demo: a contact form message said she does not feel safe at home"


def _seed_needs_attention(*, stdout) -> None:
    """A second member, Ruth (no login), with an open risk alert and an export request due in three
    days, so the admin home shows its cards at once (bloom/admin_home.py). Maya's pages stay as they were."""
    ruth = demo_member_ensure(email="ruth@bloom.test", first_name="Ruth", last_name="Demo")
    # The reason is encrypted (ADR 0330), so the demo alert is found by who and where it came from.
    if not RiskAlert.objects.filter(user=ruth, source=RiskSource.CONTACT_FORM).exists():
        RiskAlert.objects.create(user=ruth, source=RiskSource.CONTACT_FORM, reason=DEMO_ALERT_REASON)
    if not DataRequest.objects.filter(user=ruth).exists():
        DataRequest.objects.create(
            user=ruth,
            kind=DataRequestKind.EXPORT,
            requested_at=a_month_before(timezone.now() + datetime.timedelta(days=3)),
        )
    stdout.write("  admin home: Ruth's risk alert and her data export due in 3 days")


# Maya's EPDS points per question (0-3), two and six weeks after the birth: some signs, then fewer.
DEMO_EPDS_SCORES = (
    (15, (1, 1, 2, 2, 1, 2, 1, 1, 0, 0)),
    (43, (0, 1, 1, 2, 1, 1, 0, 1, 0, 0)),
)
DEMO_BIRTH_DAYS_AGO = 65


def _positions_for(points: tuple[int, ...]) -> dict[int, int]:
    """The option positions that score `points` on each EPDS question (reverse-scored ones flip)."""
    return {item.number: item.scores.index(score) for item, score in zip(EPDS.items, points, strict=True)}


def _seed_screenings(*, member: User, stdout) -> None:
    """Give the demo member a birth date and two earlier EPDS results, so the timeline has a story."""
    profile = member.profile
    if profile.stage == "postpartum" and profile.baby_birth_date is None:
        profile.baby_birth_date = timezone.localdate() - datetime.timedelta(days=DEMO_BIRTH_DAYS_AGO)
        profile.save(update_fields=["baby_birth_date", "updated_at"])
    if profile.baby_birth_date is None or member.screening_responses.exists():
        return
    born = datetime.datetime.combine(profile.baby_birth_date, datetime.time(11), tzinfo=datetime.UTC)
    for days_after_birth, points in DEMO_EPDS_SCORES:
        screening_submit(
            member=member,
            instrument=EPDS.key,
            answers=_positions_for(points),
            taken_at=born + datetime.timedelta(days=days_after_birth),
        )
    stdout.write("  demo member: postpartum, two EPDS results on the screening timeline")


DEMO_WELLNESS_WEEKS = 6
DEMO_WELLNESS_NOTES = {
    2: "Long night with feeds, but my partner took the early shift.",
    9: "Walked to the park with the baby. Felt more like myself.",
    23: "Anxious about the check-up; it went fine.",
}


def _seed_wellness(*, member: User, stdout) -> None:
    """Six weeks of Maya's check-ins (most days, not all), slowly feeling better, shared with
    her clinician, so the wellness charts and the clinician's admin view have a story."""
    if member.wellness_entries.exists():
        return
    today = timezone.localdate()
    rows = []
    for days_ago in range(DEMO_WELLNESS_WEEKS * 7 - 1, -1, -1):
        if days_ago % 5 == 3:  # some days without a check-in, as in real life
            continue
        progress = (DEMO_WELLNESS_WEEKS * 7 - days_ago) / (DEMO_WELLNESS_WEEKS * 7)  # 0 -> 1 over the weeks
        wobble = (days_ago * 7) % 3 - 1  # -1, 0 or 1
        rows.append(
            WellnessEntry(
                user=member,
                entry_date=today - datetime.timedelta(days=days_ago),
                mood=min(5, max(1, round(2 + 2 * progress + wobble * 0.6))),
                anxiety=min(5, max(1, round(4 - 2 * progress - wobble * 0.6))),
                energy=min(5, max(1, round(2 + 1.5 * progress + wobble * 0.5))),
                support=min(5, max(1, round(3 + 1.5 * progress))),
                sleep_hours=Decimal(str(round(4.5 + 2.5 * progress + wobble * 0.5, 1))),
                notes=DEMO_WELLNESS_NOTES.get(days_ago, ""),
            )
        )
    WellnessEntry.objects.bulk_create(rows)
    wellness_share_set(member=member, shared=True)
    stdout.write(
        f"  demo member: {len(rows)} wellness check-ins over {DEMO_WELLNESS_WEEKS} weeks, shared with her clinician"
    )
