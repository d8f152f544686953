"""Default staff roles: what each one may use, as data (`manage.py sync_roles`, issue 12).

A role is a list of `Rule`s. Each rule names an app, the actions it allows on some of that app's
models (`models=None`: every model of the app), which rows ("all", or for clinicians "own_clients":
members in her care, accounts/care_team.py) and which fields stay hidden from the role even where it
may view the model. Actions are permission codename prefixes: view, add, change, delete, and custom
ones (send, publish, export). Owners get every permission and every row; the others get what their
work needs and no more. The admin reads the same data (`staff_row_scope`, `staff_hidden_fields`),
and tests/accounts/test_role_matrix.py checks every role x model x action x row scope over HTTP.
docs/accounts.md "Staff roles" is the table; ADR 0300 says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from .care_team import members_in_care_q
from .models import AdminRole, AdminUser
from .services import role_permissions_set

ALL = ("add", "change", "delete", "view")
EDIT = ("add", "change", "view")
VIEW = ("view",)

ALL_ROWS = "all"
OWN_CLIENTS = "own_clients"
NO_ROWS = "none"
ON_CALL = "on_call"


@dataclass(frozen=True)
class Rule:
    """`actions` on `models` of `app_label` (None: every model), over `rows`, minus `hidden_fields`."""

    app_label: str
    actions: tuple[str, ...]
    models: tuple[str, ...] | None = None
    rows: str = ALL_ROWS
    hidden_fields: tuple[str, ...] = ()

    def covers(self, app_label: str, model_name: str) -> bool:
        return self.app_label == app_label and (self.models is None or model_name in self.models)


@dataclass(frozen=True)
class RoleSpec:
    slug: str
    name: str
    description: str
    rules: tuple[Rule, ...]
    everything: bool = False

    def _rules_for(self, app_label: str, model_name: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.covers(app_label, model_name)]

    def allows(self, app_label: str, model_name: str, action: str) -> bool:
        """Whether the role holds `<action>_<model>` (what the admin then offers is its own say)."""
        return self.everything or any(action in rule.actions for rule in self._rules_for(app_label, model_name))

    def row_scope(self, app_label: str, model_name: str) -> str:
        """ "all", "own_clients" or "none" (the role cannot open the model at all)."""
        if self.everything:
            return ALL_ROWS
        rules = self._rules_for(app_label, model_name)
        if not rules:
            return NO_ROWS
        return ALL_ROWS if any(rule.rows == ALL_ROWS for rule in rules) else OWN_CLIENTS

    def hidden_fields(self, app_label: str, model_name: str) -> frozenset[str]:
        if self.everything:
            return frozenset()
        return frozenset(name for rule in self._rules_for(app_label, model_name) for name in rule.hidden_fields)


# Content a clinician may read about courses (never who bought them or for how much).
COURSE_CONTENT = ("course", "coursemodule", "courselesson", "courseresource", "coursecontentversion", "coursemilestone")
# What a seat cost and how it was paid: for billing, not for the care team.
PAYMENT_FIELDS = ("amount", "currency", "payment", "payment_status")
WORKSHOP_CONTENT = ("workshop", "workshopresource", "workshopseries")

# What every clinician needs, on call or not: her clients' care records, screening results and the
# "needs attention" queue (acknowledging an alert is changing it); only members in her care.
CLINICAL_RULES = (
    Rule("appointments", ("view", "change"), ("appointmentdata",), rows=OWN_CLIENTS),
    Rule("appointments", EDIT, ("sessionnote",), rows=OWN_CLIENTS),
    Rule("appointments", VIEW, ("sessionnoteversion",), rows=OWN_CLIENTS),
    Rule("appointments", VIEW, ("therapistprofile",)),
    Rule("appointments", ALL, ("therapistavailability",)),
    Rule("accounts", VIEW, ("user", "userprofile", "wellnessentry", "memberpause"), rows=OWN_CLIENTS),
    Rule("accounts", VIEW, ("screeningresponse", "memberscreeningpoint"), rows=OWN_CLIENTS),
    Rule("accounts", VIEW, ("screeningschedulepoint",)),
    Rule("accounts", ("view", "change"), ("riskalert",), rows=OWN_CLIENTS),
    Rule("accounts", ("view", "add"), ("careassignment",)),
    Rule("courses", VIEW, COURSE_CONTENT),
    Rule("workshops", ("view", "change"), ("workshopattendance",)),
    Rule("workshops", VIEW, (*WORKSHOP_CONTENT, "workshopregistration"), hidden_fields=PAYMENT_FIELDS),
)

# The review queue and each item's history: what everyone who writes content may read.
REVIEW_QUEUE_RULES = (Rule("bloom", VIEW, ("contentworkflowstate", "contentworkflowevent")),)
# A reviewer (bloom/workflow.py): reads every kind of content in the approval workflow and holds
# `bloom.approve_content` (approve, send back, publish, schedule). With the two-person rule on, she
# cannot approve what she wrote or submitted herself.
REVIEWER_RULES = (
    Rule("bloom", ("view", "approve"), ("contentworkflowstate",)),
    Rule("bloom", VIEW, ("contentworkflowevent",)),
    Rule("courses", VIEW, COURSE_CONTENT),
    Rule("workshops", VIEW, WORKSHOP_CONTENT),
    Rule("notifications", VIEW, ("emailtemplate",)),
)

DEFAULT_ROLES = (
    RoleSpec("owner", "Owner", "Runs the practice: every permission.", (), everything=True),
    RoleSpec(
        "clinician",
        "Clinician",
        "Sees her own clients' care records and manages their appointments and session notes.",
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
        "Runs the schedule: the calendar across clinicians, appointments and payments; reviews, "
        "approves and schedules what the content editor writes, and decides when a newsletter goes "
        "out; no clinical content (no session notes, no screening answers, no check-ins).",
        (
            Rule("appointments", VIEW, ("appointmentdata", "appointmentpayment", "therapistprofile")),
            Rule("appointments", ("view", "change"), ("therapistavailability",)),
            Rule("accounts", VIEW, ("user",)),
            Rule("billing", VIEW),
            Rule("content", ("view", "send", "export"), ("newslettercampaign",)),
            Rule("content", VIEW, ("subscribersegment", "blogpost", "blogpostversion", "contentapproval")),
            *REVIEWER_RULES,
        ),
    ),
    RoleSpec(
        "billing",
        "Billing",
        "Payments, refunds, disputes, invoices and receipts; no clinical content and no messages.",
        (
            Rule("billing", VIEW),
            Rule("billing", ("view", "change"), ("refundrequest",)),
            Rule("billing", ("view", "add"), ("stripecheck",)),
            Rule("appointments", VIEW, ("appointmentpayment",)),
            Rule("courses", VIEW, ("courseenrollment", "courseuser", "coursediscountcode")),
            Rule("workshops", VIEW, ("workshopregistration",)),
            Rule("djstripe", VIEW),
            Rule("accounts", VIEW, ("user",)),
        ),
    ),
    RoleSpec(
        "content_editor",
        "Content editor",
        "Writes the blog, courses, workshops, email templates and newsletter drafts. No member health "
        "data, no contact messages, CVs or chats, no payments, and subscribers only as segment counts; "
        "sending a newsletter is the practice manager's decision.",
        (
            Rule("content", EDIT, ("blogpost", "blogpostversion", "contentapproval", "jobposting")),
            Rule("content", EDIT, ("subscribersegment",)),
            Rule("content", (*EDIT, "export"), ("newslettercampaign",)),  # the report CSV: counts only
            Rule("courses", EDIT, COURSE_CONTENT),
            Rule("workshops", EDIT, WORKSHOP_CONTENT),
            Rule("notifications", EDIT, ("emailtemplate", "emailsequence", "sequenceemail")),
            *REVIEW_QUEUE_RULES,
        ),
    ),
    RoleSpec(
        "support",
        "Support",
        "Helps members with their account, bookings and payments; answers contact messages and chats; "
        "processes data requests.",
        (
            Rule("accounts", VIEW, ("user", "userprofile", "userpreferences", "consentrecord", "userachievement")),
            Rule("accounts", ("view", "change"), ("datarequest",)),
            Rule("billing", VIEW),
            Rule("billing", ("change",), ("refundrequest",)),
            Rule("courses", VIEW),
            Rule("workshops", VIEW),
            Rule("appointments", VIEW, ("appointmentdata", "therapistprofile")),
            Rule("notifications", VIEW),
            Rule("content", VIEW, ("contactsubmission", "chatconversation")),
        ),
    ),
)

ROLES_BY_SLUG = {spec.slug: spec for spec in DEFAULT_ROLES}


def staff_role_spec(*, staff_user) -> RoleSpec | None:
    """The default role `staff_user` holds, or None when she is not limited by one (superusers,
    staff without a default role: their permissions alone decide)."""
    if staff_user.is_superuser:
        return None
    cached = getattr(staff_user, "_bloom_role_spec", False)
    if cached is not False:
        return cached
    slug = AdminUser.objects.filter(user=staff_user).values_list("role__slug", flat=True).first()
    spec = ROLES_BY_SLUG.get(slug)
    staff_user._bloom_role_spec = spec
    return spec


def staff_row_scope(*, staff_user, model) -> str:
    """Which rows of `model` `staff_user` may see in the admin: "all" or "own_clients"."""
    spec = staff_role_spec(staff_user=staff_user)
    if spec is None:
        return ALL_ROWS
    scope = spec.row_scope(model._meta.app_label, model._meta.model_name)
    return OWN_CLIENTS if scope == OWN_CLIENTS else ALL_ROWS


def staff_rows_in_scope(queryset, *, staff_user, prefix: str = "user__", also: Q | None = None):
    """`queryset` narrowed to the rows `staff_user` may open: every row, or for a role limited to
    her own clients only rows whose member (at `prefix`) is in her care, plus rows `also` matches
    (e.g. an alert routed to her)."""
    if staff_row_scope(staff_user=staff_user, model=queryset.model) != OWN_CLIENTS:
        return queryset
    care = members_in_care_q(staff_user=staff_user, prefix=prefix)
    if care is None:
        return queryset
    return queryset.filter(care if also is None else care | also)


def alerts_reaching_q(*, staff_user) -> Q:
    """Risk alerts routed to `staff_user` whoever the member is: those naming her, and for the
    on-call role those naming nobody (the on-call role was alerted: members without a clinician)."""
    reaching = Q(assigned_clinician=staff_user)
    spec = staff_role_spec(staff_user=staff_user)
    if spec is not None and spec.slug == ON_CALL:
        reaching |= Q(assigned_clinician__isnull=True)
    return reaching


def risk_alerts_in_scope(queryset, *, staff_user):
    """The risk alerts `staff_user` may open: the admin's list and the admin home's count read
    the same rows (her clients' alerts and those routed to her, for a clinician; all for others)."""
    return staff_rows_in_scope(queryset, staff_user=staff_user, also=alerts_reaching_q(staff_user=staff_user))


def staff_hidden_fields(*, staff_user, model) -> frozenset[str]:
    """Fields of `model` the admin keeps from `staff_user` (lists, forms, filters, searches)."""
    spec = staff_role_spec(staff_user=staff_user)
    if spec is None:
        return frozenset()
    return spec.hidden_fields(model._meta.app_label, model._meta.model_name)


def _permissions_for(spec: RoleSpec):
    if spec.everything:
        return Permission.objects.all()
    query = Q(pk__in=[])
    for rule in spec.rules:
        codenames = Q()
        for action in rule.actions:
            codenames |= Q(codename__startswith=f"{action}_")
        match = Q(content_type__app_label=rule.app_label) & codenames
        if rule.models is not None:
            match &= Q(content_type__model__in=rule.models)
        query |= match
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
