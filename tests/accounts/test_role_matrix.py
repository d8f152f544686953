"""The role matrix (issue 12): every default role x every registered admin model x action x row scope,
checked over HTTP against what accounts/roles.py DEFAULT_ROLES says.

A cell's expectation is read from the role definition (does the role hold `<action>_<model>`, which
rows may it open) and from what the admin offers at all (a read-only admin offers no "add" even to the
owner): allowed cells answer 200 (a delete the admin refuses with a reason redirects to the row),
refused ones 403, and a row outside a clinician's own clients is not found (404, or the admin's
redirect to its index). One world (roles, one staff member per role, one row of every model, and per clinician one
client of her own) is built once for the module and rolled back at the end.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import factory
import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import AdminRole, RiskAlert, User, UserProfile
from accounts.roles import DEFAULT_ROLES, OWN_CLIENTS, ROLES_BY_SLUG
from accounts.services import admin_user_role_set, wellness_share_set
from tests.factories import accounts as account_factories
from tests.factories import appointments as appointment_factories
from tests.factories import billing as billing_factories
from tests.factories import content as content_factories
from tests.factories import courses as course_factories
from tests.factories import notifications as notification_factories
from tests.factories import workshops as workshop_factories

pytestmark = pytest.mark.django_db

FACTORY_MODULES = (
    account_factories,
    appointment_factories,
    billing_factories,
    content_factories,
    course_factories,
    notification_factories,
    workshop_factories,
)
# How a row of a clinical model names its member (default: `user`).
MEMBER_PATH = {
    "appointments.sessionnote": "appointment__user",
    "appointments.sessionnoteversion": "note__appointment__user",
}
# Rows built by other apps' code, not by a factory of ours: the cells on one row are checked on any
# row the world happens to hold (none for these, so only their list and add pages are checked).
ROWLESS = {"djstripe", "django_celery_beat"}
# django_celery_beat's task form describes every crontab before it checks permissions, and the
# installed cron_descriptor lacks its locale files, so that page fails for everyone (not a role matter).
BROKEN_ADD_PAGES = {"django_celery_beat.periodictask"}

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)
MODELS = [model._meta.label_lower for model, _ in REGISTRY]
ROLES = [spec.slug for spec in DEFAULT_ROLES]


def _factories() -> dict:
    """Model label -> the factory named after the model (or the first factory building it)."""
    found: dict = {}
    for module in FACTORY_MODULES:
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, factory.django.DjangoModelFactory) or cls._meta.model is None:
                continue
            label = cls._meta.model._meta.label_lower
            if name == f"{cls._meta.model.__name__}Factory" or label not in found:
                found[label] = cls
    return found


@dataclass
class World:
    staff: dict = field(default_factory=dict)  # role slug -> user
    rows: dict = field(default_factory=dict)  # model label -> a row (outside every clinician's care)
    own_rows: dict = field(default_factory=dict)  # (role slug, model label) -> a row of her own client


def _row(factory_class, label: str, member):
    if label == "accounts.user":
        return member
    path = MEMBER_PATH.get(label, "user")
    return factory_class(**{path: member})


def _build_world() -> World:
    from accounts.roles import roles_sync_defaults

    roles_sync_defaults()
    world = World()
    for spec in DEFAULT_ROLES:
        user = account_factories.StaffUserFactory(email=f"{spec.slug}@bloom.test")
        admin_user_role_set(
            admin_user=account_factories.AdminUserFactory(user=user), role=AdminRole.objects.get(slug=spec.slug)
        )
        world.staff[spec.slug] = user
    factories = _factories()
    outsider = account_factories.UserFactory(email="outsider@bloom.test")
    wellness_share_set(member=outsider, shared=True)
    clinical = {label for spec in DEFAULT_ROLES for label in MODELS if spec.row_scope(*label.split(".")) == OWN_CLIENTS}
    for label in MODELS:
        if label in factories and label not in world.rows:
            world.rows[label] = _row(factories[label], label, outsider) if label in clinical else factories[label]()
    # The outsider's alert named another clinician: it reaches neither the clinician nor the on-call role.
    RiskAlert.objects.filter(pk=world.rows["accounts.riskalert"].pk).update(assigned_clinician=world.staff["owner"])
    for slug in ROLES:
        spec = ROLES_BY_SLUG[slug]
        own = [label for label in clinical if spec.row_scope(*label.split(".")) == OWN_CLIENTS]
        if not own:
            continue
        client = account_factories.UserFactory(email=f"client-of-{slug}@bloom.test")
        UserProfile.objects.filter(user=client).update(care_clinician=world.staff[slug])
        wellness_share_set(member=client, shared=True)
        for label in own:
            world.own_rows[(slug, label)] = _row(factories[label], label, client)
    for model, model_admin in REGISTRY:
        label = model._meta.label_lower
        if label not in world.rows and model._meta.app_label not in ROWLESS:
            row = model_admin.get_queryset(_superuser_request()).order_by().first()
            if row is not None:
                world.rows[label] = row
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def clients(world, django_db_blocker):
    logged_in = {}
    with django_db_blocker.unblock():
        for slug, user in world.staff.items():
            client = Client()
            client.force_login(user)
            logged_in[slug] = client
    return logged_in


def _superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return request


def _offered(model_admin, action: str, obj=None) -> bool:
    """Whether the admin offers `action` at all (to a superuser): its own rules, not the role's."""
    request = _superuser_request()
    if action == "add":
        return model_admin.has_add_permission(request)
    return model_admin.has_delete_permission(request, obj)


def _url(model, name: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def _status_text(response) -> str:
    location = response.get("Location", "")
    return f"{response.status_code}{' -> ' + location if location else ''}"


def _row_cells(spec, model, model_admin, row, *, in_scope: bool):
    """(cell name, url, expected) for the change and delete pages of one row."""
    app, name = model._meta.app_label, model._meta.model_name
    may_open = spec.allows(app, name, "view") or spec.allows(app, name, "change")
    may_delete = spec.allows(app, name, "delete") and _offered(model_admin, "delete", row)
    # Not found: a 404, or Django's redirect to the admin index ("perhaps it was deleted?").
    missing = (404, reverse("admin:index"))
    scope = "own client" if in_scope else "not her client"
    change = 403 if not may_open else (200 if in_scope else missing)
    delete = 403 if not may_delete else ((200, _url(model, "change", row.pk)) if in_scope else missing)
    yield f"change ({scope})", _url(model, "change", row.pk), change
    yield f"delete ({scope})", _url(model, "delete", row.pk), delete


def _export_actions(model_admin) -> list[str]:
    return [name for name in model_admin.actions or () if isinstance(name, str) and "export" in name]


def _export_cells(spec, model, model_admin, row, *, may_open: bool):
    """An export action run on one row: the CSV (200) for roles holding `export_<model>`; for others
    who may open the list Django drops the unknown action and redirects back; the rest get 403."""
    changelist = _url(model, "changelist")
    may_export = spec.allows(model._meta.app_label, model._meta.model_name, "export")
    for name in _export_actions(model_admin):
        expected = 403 if not may_open else (200 if may_export else changelist)
        yield f"export ({name})", changelist, expected, {"action": name, "_selected_action": [str(row.pk)]}


def _matches(response, expected) -> bool:
    options = expected if isinstance(expected, tuple) else (expected,)
    for option in options:
        if isinstance(option, int) and response.status_code == option:
            return True
        if isinstance(option, str) and response.status_code == 302 and response["Location"] == option:
            return True
    return False


@pytest.mark.parametrize("model_label", MODELS)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_cell(role, model_label, world, clients):
    spec = ROLES_BY_SLUG[role]
    model = next(model for model, _ in REGISTRY if model._meta.label_lower == model_label)
    model_admin = admin.site._registry[model]
    app, name = model._meta.app_label, model._meta.model_name
    may_open = spec.allows(app, name, "view") or spec.allows(app, name, "change")
    may_add = spec.allows(app, name, "add") and _offered(model_admin, "add")
    cells = [
        ("list", _url(model, "changelist"), 200 if may_open else 403),
    ]
    if model_label not in BROKEN_ADD_PAGES:
        cells.append(("add", _url(model, "add"), 200 if may_add else 403))
    own_clients = spec.row_scope(app, name) == OWN_CLIENTS
    row = world.rows.get(model_label)
    if row is not None:
        cells += _row_cells(spec, model, model_admin, row, in_scope=not own_clients)
    if own_clients:
        cells += _row_cells(spec, model, model_admin, world.own_rows[(role, model_label)], in_scope=True)

    if row is not None:
        cells += _export_cells(spec, model, model_admin, row, may_open=may_open)

    client = clients[role]
    wrong = []
    for cell, url, expected, *post in cells:
        response = client.post(url, post[0]) if post else client.get(url)
        if not _matches(response, expected):
            wrong.append(f"{cell} {url}: expected {expected}, got {_status_text(response)}")
    assert not wrong, f"{role} x {model_label}:\n" + "\n".join(wrong)


def test_every_clinical_model_of_a_clinician_is_fenced_to_her_own_clients():
    """The matrix above checks these rows; this says which models they are, so a new clinical model
    cannot slip in with every member's rows."""
    clinician = ROLES_BY_SLUG["clinician"]
    fenced = {label for label in MODELS if clinician.row_scope(*label.split(".")) == OWN_CLIENTS}
    assert fenced == {
        "accounts.memberpause",
        "accounts.memberscreeningpoint",
        "accounts.riskalert",
        "accounts.screeningresponse",
        "accounts.user",
        "accounts.userprofile",
        "accounts.wellnessentry",
        "appointments.appointmentdata",
        "appointments.sessionnote",
        "appointments.sessionnoteversion",
    }


def test_every_project_model_has_a_row_in_the_matrix(world):
    """Only rows other libraries write are left without a row (their list and add pages are checked)."""
    without = {label for label in MODELS if label not in world.rows}
    # bloom's rows (the audit trail, the workflow's tables) are written by triggers and services only.
    assert {label.split(".")[0] for label in without} <= ROWLESS | {"account", "bloom"}


def test_export_actions_are_gated_by_an_export_permission(world):
    """Any admin action that exports rows asks for the role's `export_<model>` permission, and the
    matrix has a row to run it on."""
    exporting = {model._meta.label_lower: _export_actions(ma) for model, ma in REGISTRY if _export_actions(ma)}
    assert exporting == {
        "bloom.auditentry": ["export_csv"],
        "content.newslettercampaign": ["export_csv"],
        "content.subscriber": ["export_csv"],
    }
    for label in exporting:
        if label == "bloom.auditentry":  # its CSV checks bloom.export_auditentry itself (test_audit_trail.py)
            continue
        model_admin = next(ma for model, ma in REGISTRY if model._meta.label_lower == label)
        assert "export" in model_admin.export_csv.allowed_permissions
        assert label in world.rows


@pytest.mark.parametrize("role", ROLES)
def test_admin_index_lists_only_what_the_role_may_open(role, world, clients):
    spec = ROLES_BY_SLUG[role]
    page = clients[role].get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.content.decode()
    for model, _ in REGISTRY:
        app, name = model._meta.app_label, model._meta.model_name
        link = f'href="{_url(model, "changelist")}"'
        may_open = spec.allows(app, name, "view") or spec.allows(app, name, "change")
        assert (link in html) == may_open, f"{role}: {model._meta.label} link shown={link in html}"


# --- Pages beyond a model's own four, and fields a role may not see -------------------------------


def _may(role: str, label: str, action: str) -> bool:
    return ROLES_BY_SLUG[role].allows(*label.split("."), action)


@pytest.mark.parametrize("role", ROLES)
def test_the_index_links_to_the_workspace_and_calendar_only_for_roles_that_open_them(role, world, clients):
    client = clients[role]
    html = client.get(reverse("admin:index")).content.decode()
    workspace = reverse("admin:appointments_therapistprofile_workspace")
    calendar = reverse("admin:appointments_therapistprofile_calendar")
    may_workspace = _may(role, "appointments.sessionnote", "view")
    may_calendar = _may(role, "appointments.appointmentdata", "view")
    assert (workspace in html, calendar in html) == (may_workspace, may_calendar)
    assert client.get(workspace).status_code == (200 if may_workspace else 403)
    assert client.get(calendar).status_code == (200 if may_calendar else 403)


@pytest.mark.parametrize("role", ROLES)
def test_a_cv_downloads_only_for_roles_that_may_read_applications(role, world, clients):
    application = world.rows["content.careerapplication"]
    response = clients[role].get(reverse("admin:content_careerapplication_cv", args=[application.pk]))
    assert response.status_code == (200 if _may(role, "content.careerapplication", "view") else 403)


@pytest.mark.parametrize("role", ROLES)
def test_sending_a_campaign_is_for_roles_with_the_send_permission(role, world, clients):
    """Drafting is the content editor's; sending reaches every subscriber, so it is a manager's."""
    campaign = world.rows["content.newslettercampaign"]
    client = clients[role]
    send = reverse("admin:content_newslettercampaign_send", args=[campaign.pk])
    may_send = _may(role, "content.newslettercampaign", "send")
    assert client.get(send).status_code == (200 if may_send else 403)
    if _may(role, "content.newslettercampaign", "change"):
        form = client.get(reverse("admin:content_newslettercampaign_change", args=[campaign.pk])).content.decode()
        assert (send in form) == may_send
        assert ("the practice manager sends it" in form) == (not may_send)
        assert ('name="scheduled_at' in form) == may_send  # scheduling is sending later
        preview = client.get(reverse("admin:content_newslettercampaign_change", args=[campaign.pk]), {"preview": "@"})
        closed = "Subscribers' addresses are not part of your role" in preview.content.decode()
        assert closed == (not _may(role, "content.subscriber", "view"))
    assert campaign.__class__.objects.get(pk=campaign.pk).status == campaign.status  # a GET sends nothing


@pytest.mark.parametrize("role", ["clinician", "billing", "owner"])
def test_what_a_seat_cost_is_hidden_from_the_care_team(role, world, clients):
    registration = world.rows["workshops.workshopregistration"]
    client = clients[role]
    listing = client.get(reverse("admin:workshops_workshopregistration_changelist")).content.decode()
    page = client.get(reverse("admin:workshops_workshopregistration_change", args=[registration.pk]))
    assert page.status_code == 200
    shown = "column-amount" in listing, "field-amount" in page.content.decode()
    hidden = "amount" in ROLES_BY_SLUG[role].hidden_fields("workshops", "workshopregistration")
    assert shown == (not hidden, not hidden)
    assert hidden == (role == "clinician")
