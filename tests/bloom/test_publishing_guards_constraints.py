"""Constraint violations reach staff as sentences naming the field (bloom/constraints.py, docs/adr/0240)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.urls import reverse
from django.utils import timezone

from bloom import constraints
from tests.bloom.support_admin_forms import admin_form_data
from tests.factories.accounts import UserFactory
from tests.factories.workshops import WorkshopFactory
from workshops.models import Workshop

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


# --- Every constraint has a sentence -----------------------------------------------------------


def _all_constraints():
    return [
        pytest.param(model, constraint, id=constraint.name) for model, constraint in constraints.project_constraints()
    ]


@pytest.mark.parametrize(("model", "constraint"), _all_constraints())
def test_every_constraint_has_a_human_sentence_naming_a_real_field(model, constraint):
    described = constraints.describe(model, constraint)
    assert described is not None, f"{model._meta.label}.{constraint.name} has no sentence in bloom/constraints.py"
    field, sentence = described
    assert constraint.name not in sentence and "_" not in sentence  # no database or column names
    assert sentence[0].isupper() and sentence.endswith("."), sentence
    assert "violated" not in sentence.lower()
    if field is not None:
        model._meta.get_field(field)  # raises FieldDoesNotExist for a sentence on a field that is not there
    assert getattr(constraint.validate, "humane", False), "install() did not reach this constraint"


def test_the_walk_covers_check_and_unique_constraints_of_every_app():
    found = {(type(c), m._meta.app_label) for m, c in constraints.project_constraints()}
    apps_with_checks = {app for kind, app in found if kind is models.CheckConstraint}
    apps_with_uniques = {app for kind, app in found if kind is models.UniqueConstraint}
    assert {"accounts", "billing", "content", "courses", "notifications", "workshops", "appointments"} <= (
        apps_with_checks
    )
    assert {"courses", "workshops", "content"} <= apps_with_uniques
    # 145 until the wellness ranges and profile stage check moved into encrypted fields (ADR 0330).
    assert len(list(constraints.project_constraints())) >= 130


def test_unknown_shapes_get_no_invented_sentence():
    check = models.CheckConstraint(condition=models.Q(price__gte=models.F("cost")), name="thing_price_over_cost")
    assert constraints.describe(Workshop, check) is None


# --- Forms: Django's constraint validation shows the sentence on the field ---------------------


def test_model_validation_puts_the_sentence_on_the_field():
    workshop = WorkshopFactory.build(ends_at=timezone.now(), starts_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(ValidationError) as caught:
        workshop.validate_constraints()
    assert caught.value.message_dict == {"ends_at": ["The workshop must end after it starts."]}


def test_workshop_change_form_names_the_field_not_the_constraint_and_keeps_what_was_typed(owner_client):
    workshop = WorkshopFactory(title="Sleep and the newborn")
    url = reverse("admin:workshops_workshop_change", args=[workshop.pk])
    data = admin_form_data(owner_client.get(url), title="Sleep and the newborn (renamed)")
    data["ends_at_0"] = (date.fromisoformat(data["starts_at_0"]) - timedelta(days=2)).isoformat()
    response = owner_client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "The workshop must end after it starts." in page
    assert "workshops_ends_after_start" not in page and "is violated" not in page
    assert response.context["adminform"].form.errors["ends_at"] == ["The workshop must end after it starts."]
    assert 'value="Sleep and the newborn (renamed)"' in page  # what was typed is kept
    workshop.refresh_from_db()
    assert workshop.title == "Sleep and the newborn" and workshop.ends_at > workshop.starts_at


def test_unique_fields_say_which_value_is_taken(owner_client):
    WorkshopFactory(slug="sleep-basics")
    other = WorkshopFactory(slug="feeding-basics")
    url = reverse("admin:workshops_workshop_change", args=[other.pk])
    response = owner_client.post(url, admin_form_data(owner_client.get(url), slug="sleep-basics"))
    assert response.status_code == 200
    assert "already exists" in response.context["adminform"].form.errors["slug"][0]


# --- Writes outside forms: the database's refusal told by the same sentence ---------------------


def test_integrity_error_from_a_check_constraint_becomes_the_sentence_on_its_field():
    workshop = WorkshopFactory()
    with pytest.raises(ValidationError) as caught, constraints.humane_integrity_errors():
        Workshop.objects.filter(pk=workshop.pk).update(ends_at=workshop.starts_at - timedelta(minutes=5))
    assert caught.value.message_dict == {"ends_at": ["The workshop must end after it starts."]}
    workshop.refresh_from_db()
    assert workshop.ends_at > workshop.starts_at  # rolled back to the savepoint, the transaction goes on


def test_integrity_error_from_a_unique_column_names_the_column():
    WorkshopFactory(slug="sleep-basics")
    with pytest.raises(ValidationError) as caught, constraints.humane_integrity_errors():
        WorkshopFactory(slug="sleep-basics")
    assert caught.value.message_dict == {"slug": ["Another workshop already has this slug."]}


def test_integrity_error_from_a_missing_value_says_it_is_required():
    workshop = WorkshopFactory()
    with pytest.raises(ValidationError) as caught, constraints.humane_integrity_errors():
        Workshop.objects.filter(pk=workshop.pk).update(title=None)
    assert caught.value.message_dict == {"title": ["Title is required."]}


def test_a_constraint_the_table_does_not_know_gets_the_plain_fallback():
    error = IntegrityError("duplicate key")
    assert constraints.constraint_error(error).messages == [constraints.FALLBACK]
    assert "constraint" not in constraints.FALLBACK.lower()


def test_admin_save_refused_by_the_database_shows_the_form_again_with_the_sentence(owner_client, monkeypatch):
    """A race past the form's checks: PostgreSQL refuses the save; staff see the sentence, typing kept."""
    workshop = WorkshopFactory(title="Birth stories circle")
    url = reverse("admin:workshops_workshop_change", args=[workshop.pk])
    data = admin_form_data(owner_client.get(url), title="Birth stories circle (evening)")
    data["ends_at_0"] = (date.fromisoformat(data["starts_at_0"]) - timedelta(days=2)).isoformat()
    checked = []

    def skip_constraint_checks(self, exclude=None):
        checked.append(self.pk)  # the first pass lets the bad value through, as a race would

    monkeypatch.setattr(Workshop, "validate_constraints", skip_constraint_checks)
    response = owner_client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "The workshop must end after it starts." in page and "workshops_ends_after_start" not in page
    assert 'value="Birth stories circle (evening)"' in page
    assert len(checked) == 2  # validated, refused by the database, validated again with the refusal
    workshop.refresh_from_db()
    assert workshop.title == "Birth stories circle"


def test_row_actions_tell_a_database_refusal_as_the_sentence():
    from django.db import transaction

    from bloom.admin import _refusal_text

    workshop = WorkshopFactory()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Workshop.objects.filter(pk=workshop.pk).update(ends_at=workshop.starts_at)
    assert _refusal_text(caught.value) == "The workshop must end after it starts."


def test_a_service_refusing_the_save_shows_the_form_again_instead_of_a_server_error(owner_client, monkeypatch):
    from courses import services as course_services
    from courses.models import CourseDiscountCode

    def refuse(*, code):
        raise ValidationError({"discount_value": "Checked again at save time: too large now."})

    monkeypatch.setattr(course_services, "discount_code_save", refuse)
    url = reverse("admin:courses_coursediscountcode_add")
    data = admin_form_data(owner_client.get(url), code="RACE", discount_type="fixed", discount_value="10")
    response = owner_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["discount_value"] == ["Checked again at save time: too large now."]
    assert not CourseDiscountCode.objects.exists()
