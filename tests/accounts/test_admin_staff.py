"""Staff: admin login through allauth, MFA enforcement, sessions, audit trail, roles."""

import datetime
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    AdminActivityLog,
    AdminRole,
    AdminRolePermission,
    AdminSession,
    AdminUser,
    SecurityEvent,
    UserAchievement,
)
from accounts.roles import roles_sync_defaults
from accounts.services import admin_user_role_set, wellness_share_set
from tests.factories.accounts import (
    DEFAULT_PASSWORD,
    AdminRoleFactory,
    StaffUserFactory,
    UserAchievementFactory,
    UserFactory,
    WellnessEntryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = StaffUserFactory(is_superuser=True)
    client.force_login(user)
    return user


def _sign_in_and_reauthenticate(client, user) -> None:
    """allauth asks for the password again before MFA changes."""
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})


def _totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


# --- Admin sign-in and MFA -------------------------------------------------------------------


def test_admin_login_redirects_to_allauth_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_anonymous_admin_visit_ends_at_allauth_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    assert response.status_code == 200


def test_staff_with_totp_gets_into_the_admin(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Bloom back office" in response.content.decode()


def test_staff_without_totp_is_sent_to_mfa_setup(client):
    client.force_login(StaffUserFactory(mfa=False, is_superuser=True))
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa_activate_totp')}?next=/admin/accounts/user/"


def test_member_gets_the_admin_login_redirect_and_no_loop(client, member):
    client.force_login(member)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    followed = client.get(response["Location"])
    assert followed["Location"] == reverse("accounts:dashboard")


def test_activating_totp_through_allauth_sets_two_factor_enabled(client, django_capture_on_commit_callbacks):
    staff = StaffUserFactory(mfa=False)
    assert AdminUser.objects.get(user=staff).two_factor_enabled is False
    _sign_in_and_reauthenticate(client, staff)
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        response = client.post(reverse("mfa_activate_totp"), {"code": _totp_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    assert AdminUser.objects.get(user=staff).two_factor_enabled is True
    assert SecurityEvent.objects.filter(user=staff, event_type="mfa_changed").exists()
    assert client.get("/admin/").status_code in (200, 403)  # no longer sent to MFA setup


def test_removing_totp_clears_two_factor_enabled(client, django_capture_on_commit_callbacks):
    staff = StaffUserFactory(mfa=False)
    _sign_in_and_reauthenticate(client, staff)
    client.get(reverse("mfa_activate_totp"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_activate_totp"), {"code": _totp_code(client.session[SECRET_SESSION_KEY])})
    assert AdminUser.objects.get(user=staff).two_factor_enabled is True

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=staff, type="totp").exists()
    assert AdminUser.objects.get(user=staff).two_factor_enabled is False


def test_password_change_stamps_last_password_change(client):
    staff = StaffUserFactory(mfa=False)
    client.post(reverse("account_login"), {"login": staff.email, "password": DEFAULT_PASSWORD})
    assert AdminUser.objects.get(user=staff).last_password_change is None

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": "New-quiet-garden-77", "password2": "New-quiet-garden-77"},
    )

    assert response.status_code == 302
    assert AdminUser.objects.get(user=staff).last_password_change is not None


def test_member_password_change_writes_no_admin_row(client, member):
    client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})
    client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": "New-quiet-garden-77", "password2": "New-quiet-garden-77"},
    )
    assert not AdminUser.objects.filter(user=member).exists()


# --- Admin sessions ------------------------------------------------------------------------


def test_staff_login_opens_and_logout_closes_an_admin_session(client):
    staff = StaffUserFactory(mfa=False)
    client.post(reverse("account_login"), {"login": staff.email, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.0.0.7")

    session = AdminSession.objects.get(admin_user__user=staff)
    assert session.session_key == client.session.session_key
    assert session.ip_address == "10.0.0.7"
    assert session.ended_at is None
    assert AdminUser.objects.get(user=staff).last_login_at is not None

    client.post(reverse("account_logout"))
    session.refresh_from_db()
    assert session.ended_at is not None


def test_member_login_opens_no_admin_session(client, member):
    client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})
    assert "_auth_user_id" in client.session
    assert not AdminSession.objects.exists()


def test_admin_requests_move_last_seen_forward(client, superuser):
    session = AdminSession.objects.get(admin_user__user=superuser)
    old = timezone.now() - datetime.timedelta(minutes=5)
    AdminSession.objects.filter(pk=session.pk).update(last_seen_at=old)

    client.get("/admin/")

    session.refresh_from_db()
    assert session.last_seen_at > old


# --- Audit trail ----------------------------------------------------------------------------


def test_admin_add_change_and_bulk_delete_are_logged(client, superuser):
    member = UserFactory()
    response = client.post(
        reverse("admin:accounts_userachievement_add"),
        {"user": member.pk, "key": "first-course", "title": "First course", "description": ""},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    achievement = UserAchievement.objects.get(key="first-course")
    added = AdminActivityLog.objects.get(action="add")
    assert (added.object_type, added.object_id, added.user, added.ip_address) == (
        "accounts.userachievement",
        str(achievement.pk),
        superuser,
        "10.1.2.3",
    )
    assert added.admin_user == AdminUser.objects.get(user=superuser)

    client.post(
        reverse("admin:accounts_userachievement_change", args=[achievement.pk]),
        {"user": member.pk, "key": "first-course", "title": "Your first course", "description": ""},
    )
    changed = AdminActivityLog.objects.get(action="change")
    assert changed.changes == {"message": [{"changed": {"fields": ["Title"]}}]}

    other = UserAchievementFactory()
    client.post(
        reverse("admin:accounts_userachievement_changelist"),
        {"action": "delete_selected", "_selected_action": [achievement.pk, other.pk], "post": "yes"},
    )
    assert not UserAchievement.objects.exists()
    deleted = AdminActivityLog.objects.filter(action="delete")
    assert sorted(deleted.values_list("object_id", flat=True)) == sorted([str(achievement.pk), str(other.pk)])
    assert AdminActivityLog.objects.count() == 4


def test_admin_reads_write_no_change_rows(client, superuser):
    client.get(reverse("admin:accounts_userachievement_changelist"))
    client.get(reverse("admin:accounts_userprofile_changelist"))
    assert not AdminActivityLog.objects.exists()


def test_staff_reading_a_wellness_entry_is_audited(client, superuser):
    entry = WellnessEntryFactory(notes="Could not stop crying")
    wellness_share_set(member=entry.user, shared=True)  # staff see only check-ins she shares
    listing = client.get(reverse("admin:accounts_wellnessentry_changelist"))
    assert "Could not stop crying" not in listing.content.decode()
    assert not AdminActivityLog.objects.exists()

    detail = client.get(reverse("admin:accounts_wellnessentry_change", args=[entry.pk]), REMOTE_ADDR="10.9.9.9")

    assert "Could not stop crying" in detail.content.decode()
    read = AdminActivityLog.objects.get()
    assert (read.action, read.object_type, read.object_id, read.user, read.ip_address) == (
        "view_health",
        "accounts.wellnessentry",
        str(entry.pk),
        superuser,
        "10.9.9.9",
    )


def test_health_read_record_for_other_apps():
    from accounts.services import health_read_record

    staff = StaffUserFactory()
    entry = WellnessEntryFactory()
    row = health_read_record(staff_user=staff, obj=entry, request=None)
    assert (row.action, row.admin_user.user, row.ip_address) == ("view_health", staff, None)


@pytest.mark.parametrize(
    "model",
    [
        "user",
        "userprofile",
        "userpreferences",
        "userachievement",
        "wellnessentry",
        "adminrole",
        "adminrolepermission",
        "adminuser",
        "adminsession",
        "adminactivitylog",
        "securityevent",
        "consentrecord",
        "datarequest",
    ],
)
def test_every_accounts_admin_page_lists_and_searches(client, superuser, model):
    response = client.get(reverse(f"admin:accounts_{model}_changelist"), {"q": "example"})
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["adminsession", "adminactivitylog", "securityevent", "consentrecord"])
def test_system_written_rows_are_read_only(client, superuser, model):
    assert client.get(reverse(f"admin:accounts_{model}_add")).status_code == 403


def test_data_request_admin_action_completes_an_export(client, superuser):
    from accounts.models import DataRequest

    data_request = DataRequest.objects.create(user=UserFactory(), kind="export")
    client.post(
        reverse("admin:accounts_datarequest_changelist"),
        {"action": "process_requests", "_selected_action": [data_request.pk], "confirm": "yes"},
    )
    data_request.refresh_from_db()
    assert data_request.status == "completed"
    assert data_request.processed_by == superuser
    assert data_request.export_data["summary"]["account"]["email"] == data_request.user.email
    assert AdminActivityLog.objects.filter(object_type="accounts.datarequest", action="change").count() == 1


# --- Roles ----------------------------------------------------------------------------------


def _codenames(role_slug: str) -> set[str]:
    role = AdminRole.objects.get(slug=role_slug)
    return set(role.group.permissions.values_list("content_type__app_label", "codename"))


def test_default_roles_are_created_with_sensible_permissions():
    roles_sync_defaults()

    assert set(AdminRole.objects.values_list("slug", flat=True)) >= {"owner", "clinician", "content_editor", "support"}
    assert len(_codenames("owner")) == Permission.objects.count()
    clinician = _codenames("clinician")
    assert ("accounts", "view_wellnessentry") in clinician
    assert ("accounts", "delete_user") not in clinician
    editor = _codenames("content_editor")
    assert ("accounts", "view_wellnessentry") not in editor
    assert not any(codename.startswith("delete_") for _, codename in editor)
    support = _codenames("support")
    assert ("accounts", "change_datarequest") in support
    assert ("accounts", "view_wellnessentry") not in support
    # The table and the group agree.
    role = AdminRole.objects.get(slug="support")
    assert set(role.role_permissions.values_list("permission_id", flat=True)) == set(
        role.group.permissions.values_list("pk", flat=True)
    )


def test_sync_roles_command_is_idempotent():
    out = StringIO()
    call_command("sync_roles", stdout=out)
    count = AdminRolePermission.objects.count()
    call_command("sync_roles", stdout=out)
    assert AdminRolePermission.objects.count() == count
    assert AdminRole.objects.filter(slug="owner").count() == 1
    assert (
        "Synced 7 roles." in out.getvalue()
    )  # owner, clinician, on_call, practice_manager, billing, content_editor, support


def test_role_permission_edited_in_admin_reaches_the_group(client, superuser):
    role = AdminRoleFactory()
    permission = Permission.objects.get(codename="view_consentrecord")
    client.post(reverse("admin:accounts_adminrolepermission_add"), {"role": role.pk, "permission": permission.pk})
    assert list(role.group.permissions.all()) == [permission]

    link = AdminRolePermission.objects.get(role=role)
    client.post(reverse("admin:accounts_adminrolepermission_delete", args=[link.pk]), {"post": "yes"})
    assert not role.group.permissions.exists()


def test_giving_a_staff_member_a_role_puts_them_in_its_group():
    roles_sync_defaults()
    staff = StaffUserFactory()
    admin_user = AdminUser.objects.get(user=staff)
    admin_user_role_set(admin_user=admin_user, role=AdminRole.objects.get(slug="support"))
    assert staff.has_perm("accounts.change_datarequest")

    admin_user_role_set(admin_user=admin_user, role=AdminRole.objects.get(slug="content_editor"))
    staff = type(staff).objects.get(pk=staff.pk)  # fresh permission cache
    assert not staff.has_perm("accounts.change_datarequest")
    assert list(staff.groups.values_list("name", flat=True)) == ["Role: Content editor"]


def test_staff_can_add_and_edit_a_user_in_the_admin(client, superuser):
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "added@example.com",
            "usable_password": "true",
            "password1": "Quiet-harbor-light-12",
            "password2": "Quiet-harbor-light-12",
        },
    )
    assert response.status_code == 302
    from accounts.models import User

    user = User.objects.get(email="added@example.com")
    assert user.check_password("Quiet-harbor-light-12")
    page = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert page.status_code == 200
    assert AdminActivityLog.objects.filter(action="add", object_type="accounts.user").count() == 1


def test_role_edited_with_its_inline_syncs_the_group(client, superuser):
    role = AdminRoleFactory()
    permission = Permission.objects.get(codename="view_wellnessentry")
    response = client.post(
        reverse("admin:accounts_adminrole_change", args=[role.pk]),
        {
            "name": role.name,
            "slug": role.slug,
            "description": "",
            "group": role.group_id,
            "role_permissions-TOTAL_FORMS": "1",
            "role_permissions-INITIAL_FORMS": "0",
            "role_permissions-MIN_NUM_FORMS": "0",
            "role_permissions-MAX_NUM_FORMS": "1000",
            "role_permissions-0-permission": permission.pk,
        },
    )
    assert response.status_code == 302
    assert list(role.group.permissions.all()) == [permission]


def test_every_accounts_model_is_registered_with_list_search_and_filters():
    from django.apps import apps
    from django.contrib import admin

    for model in apps.get_app_config("accounts").get_models():
        model_admin = admin.site._registry.get(model)
        assert model_admin is not None, model.__name__
        assert model_admin.list_display != ("__str__",), model.__name__
        assert model_admin.search_fields, model.__name__
        assert model_admin.list_filter, model.__name__


def test_admin_changelist_filters_apply(client, superuser):
    UserFactory(email="verified-filter@example.com")
    UserFactory(email="pending-filter@example.com", onboarded=False)
    url = reverse("admin:accounts_userprofile_changelist")
    html = client.get(url, {"onboarding_completed__exact": "0"}).content.decode()
    assert "pending-filter@example.com" in html
    assert "verified-filter@example.com" not in html


def test_staff_sign_in_lands_on_the_admin_home_and_a_member_on_her_dashboard(client, member):
    staff = StaffUserFactory(mfa=False)
    response = client.post(reverse("account_login"), {"login": staff.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("admin:index")

    client.post(reverse("account_logout"))
    response = client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})
    assert response.url == reverse("accounts:dashboard")


def test_a_next_link_still_wins_over_the_staff_landing_page(client):
    staff = StaffUserFactory(mfa=False)
    response = client.post(
        f"{reverse('account_login')}?next=/admin/workshops/workshop/",
        {"login": staff.email, "password": DEFAULT_PASSWORD},
    )
    assert response.url == "/admin/workshops/workshop/"
