"""Default staff roles and the permissions each one gets (`manage.py sync_roles`).

A rule is (app_label, actions, models): `models=None` means every model of the app.
Owners get every permission; the others get what their work needs and no more.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from .models import AdminRole
from .services import role_permissions_set

ALL = ("add", "change", "delete", "view")


@dataclass(frozen=True)
class RoleSpec:
    slug: str
    name: str
    description: str
    rules: tuple[tuple[str, tuple[str, ...], tuple[str, ...] | None], ...]
    everything: bool = False


# What every clinician needs, on call or not: care records, screening results and the
# "needs attention" queue (acknowledging an alert is changing it).
CLINICAL_RULES = (
    ("appointments", ALL, None),
    ("accounts", ("view",), ("user", "userprofile", "wellnessentry", "memberpause")),
    ("accounts", ("view",), ("screeningresponse", "memberscreeningpoint", "screeningschedulepoint")),
    ("accounts", ("view", "change"), ("riskalert",)),
    ("accounts", ("view", "add"), ("careassignment",)),
    ("courses", ("view",), None),
    ("workshops", ("view", "change"), ("workshopattendance",)),
    ("workshops", ("view",), None),
)

DEFAULT_ROLES = (
    RoleSpec("owner", "Owner", "Runs the practice: every permission.", (), everything=True),
    RoleSpec(
        "clinician",
        "Clinician",
        "Sees members' care records and manages appointments and session notes.",
        CLINICAL_RULES,
    ),
    RoleSpec(
        "on_call",
        "On-call clinician",
        "A clinician who receives risk alerts for members without a clinician of their own.",
        CLINICAL_RULES,
    ),
    RoleSpec(
        "practice_manager",
        "Practice manager",
        "Runs the schedule: the calendar across clinicians, appointments and payments; no clinical "
        "content (no session notes, no screening answers, no check-ins).",
        (
            ("appointments", ("view",), ("appointmentdata", "appointmentpayment", "therapistprofile")),
            ("appointments", ("view", "change"), ("therapistavailability",)),
            ("accounts", ("view",), ("user",)),
            ("billing", ("view",), None),
        ),
    ),
    RoleSpec(
        "content_editor",
        "Content editor",
        "Writes the blog, courses, workshops and email templates; no member health data.",
        (
            ("content", ("add", "change", "view"), None),
            ("courses", ("add", "change", "view"), None),
            ("workshops", ("add", "change", "view"), ("workshop", "workshopresource", "workshopseries")),
            ("notifications", ("add", "change", "view"), ("emailtemplate", "emailsequence", "sequenceemail")),
        ),
    ),
    RoleSpec(
        "support",
        "Support",
        "Helps members with their account, bookings and payments; processes data requests.",
        (
            ("accounts", ("view",), ("user", "userprofile", "userpreferences", "consentrecord", "userachievement")),
            ("accounts", ("view", "change"), ("datarequest",)),
            ("billing", ("view",), None),
            ("billing", ("change",), ("refundrequest",)),
            ("courses", ("view",), None),
            ("workshops", ("view",), None),
            ("appointments", ("view",), ("appointmentdata", "therapistprofile")),
            ("notifications", ("view",), None),
            ("content", ("view",), ("contactsubmission", "chatconversation")),
        ),
    ),
)


def _permissions_for(spec: RoleSpec):
    if spec.everything:
        return Permission.objects.all()
    query = Q(pk__in=[])
    for app_label, actions, models in spec.rules:
        codenames = Q()
        for action in actions:
            codenames |= Q(codename__startswith=f"{action}_")
        rule = Q(content_type__app_label=app_label) & codenames
        if models is not None:
            rule &= Q(content_type__model__in=models)
        query |= rule
    return Permission.objects.filter(query)


@transaction.atomic
def roles_sync_defaults() -> list[tuple[AdminRole, int]]:
    """Create the default roles (and their groups) and set their permissions. Idempotent.

    Permissions of apps that do not exist yet are simply absent; run again after new
    models arrive. Returns (role, number of permissions) per role.
    """
    result = []
    for spec in DEFAULT_ROLES:
        role = AdminRole.objects.filter(slug=spec.slug).first()
        if role is None:
            group, _ = Group.objects.get_or_create(name=f"Role: {spec.name}")
            role = AdminRole.objects.create(name=spec.name, slug=spec.slug, description=spec.description, group=group)
        count = role_permissions_set(role=role, permissions=list(_permissions_for(spec)))
        result.append((role, count))
    return result
