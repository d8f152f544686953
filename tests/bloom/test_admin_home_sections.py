"""The back office's sections (bloom/admin_site.py) and dj-stripe's read-only mirror (billing/admin_djstripe.py)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from djstripe.models import Customer

from bloom.admin_site import SECTIONS, STRIPE_MIRROR, UNSORTED, BloomAdminSite, section_of
from tests.appointments.support_workspace import staff_login

pytestmark = pytest.mark.django_db

ORDER = ["Members", "Care", "Learning", "Events", "Money", "Marketing", "Site", "System"]


@pytest.fixture(autouse=True)
def _no_staff_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests


def test_every_registered_model_has_a_section_and_every_mapping_a_model():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    unsorted = sorted(
        name
        for name in registered
        if section_of(*name.split("."), "")[0] == UNSORTED and not name.startswith("djstripe.")
    )
    assert unsorted == [], "add these models to bloom.admin_site.SECTIONS"
    mapped = {name for models in SECTIONS.values() for name in models}
    assert mapped - registered == set(), "these mapped models are not registered in the admin"
    assert list(SECTIONS) == ORDER


def test_the_site_is_blooms():
    assert isinstance(admin.site._wrapped if hasattr(admin.site, "_wrapped") else admin.site, BloomAdminSite)


def test_the_owner_sees_the_sections_in_order_in_staff_words_and_the_mirror_last():
    owner = staff_login("owner")
    response = owner.get("/admin/")
    app_list = response.context["app_list"]
    assert [app["name"] for app in app_list] == [*ORDER, STRIPE_MIRROR]
    care = next(app for app in app_list if app["name"] == "Care")
    assert care["models"][0]["name"] == "Risk alerts (needs attention)"
    assert b"Risk alerts (needs attention)" in response.content
    assert b'id="care-riskalert"' in response.content
    # Links still go to Django's changelists; an app's own page is still Django's.
    assert care["models"][0]["admin_url"] == "/admin/accounts/riskalert/"
    assert owner.get("/admin/accounts/").status_code == 200


def test_ids_on_the_index_are_unique_within_each_section():
    owner = staff_login("owner")
    for app in owner.get("/admin/").context["app_list"]:
        names = [model["object_name"].lower() for model in app["models"]]
        assert len(names) == len(set(names)), app["name"]


def test_the_stripe_mirror_is_read_only_even_for_the_owner():
    owner = staff_login("owner")
    mirror = next(app for app in owner.get("/admin/").context["app_list"] if app["name"] == STRIPE_MIRROR)
    assert len(mirror["models"]) > 30
    assert all(model["add_url"] is None and model["view_only"] for model in mirror["models"])
    model_admin = admin.site._registry[Customer]
    request = owner.get("/admin/djstripe/customer/").wsgi_request
    assert owner.get("/admin/djstripe/customer/").status_code == 200
    assert (model_admin.has_add_permission(request), model_admin.has_change_permission(request)) == (False, False)
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.get_actions(request) == {}
    assert owner.get("/admin/djstripe/customer/add/").status_code == 403


@pytest.mark.parametrize("role", ["clinician", "practice_manager", "content_editor", "support"])
def test_the_stripe_mirror_is_out_of_the_way_of_everyone_else(role):
    login = staff_login(role)
    sections = [app["name"] for app in login.get("/admin/").context["app_list"]]
    assert STRIPE_MIRROR not in sections
    assert UNSORTED not in sections
    assert login.get("/admin/djstripe/customer/").status_code == 403


def test_a_content_editor_sees_only_her_sections():
    editor = staff_login("content_editor")
    sections = [app["name"] for app in editor.get("/admin/").context["app_list"]]
    # Sections follow her permissions (accounts/roles.py): no care records, no system screens.
    assert {"Learning", "Events", "Marketing", "Site"} <= set(sections)
    assert {"Care", "System", STRIPE_MIRROR} & set(sections) == set()


def test_every_stripe_mirror_list_answers_a_search():
    """dj-stripe's Account admin searches fields its models no longer have (a 500); the mirror
    searches only the fields that exist, and a list left with none shows no search box."""
    owner = staff_login("owner")
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "djstripe":
            continue
        url = f"/admin/djstripe/{model._meta.model_name}/"
        assert owner.get(url, {"q": "acct_1"}).status_code == 200, url
        for field in model_admin.get_search_fields(None):
            model._meta.get_field(field.lstrip("^=@").split("__")[0])  # raises if it does not exist
