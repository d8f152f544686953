"""Every concrete model of the local apps has a factory in tests/factories/, and every factory
builds, validates and saves a row (with valid related rows) on its own."""

import importlib
import inspect
import pkgutil

import factory
import pytest
from django.apps import apps
from django.conf import settings

import tests.factories

# Fields whose model validation needs something a factory row legitimately lacks:
# (model label, field) -> why it is left out of full_clean().
CLEAN_EXCLUDE: dict[tuple[str, str], str] = {}

# Factories that cannot yet build a second row, and why (owner: the factory module's app).
SECOND_ROW_COLLIDES = {}


def _factory_classes() -> list[type[factory.django.DjangoModelFactory]]:
    found = []
    for module_info in pkgutil.iter_modules(tests.factories.__path__):
        module = importlib.import_module(f"tests.factories.{module_info.name}")
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, factory.django.DjangoModelFactory)
                and obj.__module__ == module.__name__
                and obj._meta.model is not None
            ):
                found.append(obj)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__name__}")


FACTORIES = _factory_classes()


def _model_of(factory_class):
    model = factory_class._meta.model
    return apps.get_model(model) if isinstance(model, str) else model


def _concrete_models():
    for label in settings.LOCAL_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.managed and not model._meta.proxy and not model._meta.auto_created:
                yield model


def test_the_factory_scan_finds_the_factory_modules():
    modules = {cls.__module__.rsplit(".", 1)[1] for cls in FACTORIES}
    assert {"accounts", "notifications", "billing", "content", "courses", "workshops", "appointments"} <= modules


def test_every_concrete_model_of_the_local_apps_has_a_factory():
    covered = {_model_of(cls) for cls in FACTORIES}
    missing = sorted(model._meta.label for model in _concrete_models() if model not in covered)
    assert not missing, f"models without a factory in tests/factories/: {missing}"


def test_views_are_unmanaged_and_need_no_factory():
    unmanaged = sorted(
        model._meta.db_table
        for label in settings.LOCAL_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.managed and not model.__module__.startswith("tests.")  # test-only tables
    )
    assert unmanaged == ["course_overview", "user_course_stats", "user_payment_summary"]


def _factory_id(factory_class) -> str:
    return f"{factory_class.__module__.rsplit('.', 1)[1]}.{factory_class.__name__}"


@pytest.mark.django_db
@pytest.mark.parametrize("factory_class", FACTORIES, ids=_factory_id)
def test_factory_builds_and_saves_a_valid_row(factory_class):
    model = _model_of(factory_class)
    row = factory_class()
    assert isinstance(row, model)
    assert str(row)
    exclude = [field for (label, field) in CLEAN_EXCLUDE if label == model._meta.label]
    row.full_clean(exclude=exclude)  # the model's own validation, not only the database's
    # The base manager: some factories build archived rows that default managers hide.
    stored = model._base_manager.get(pk=row.pk)
    for field in model._meta.concrete_fields:
        if field.is_relation and getattr(stored, field.attname) is not None:
            assert getattr(stored, field.name).pk is not None, f"{field.name} points at no stored row"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "factory_class",
    [
        pytest.param(cls, marks=pytest.mark.xfail(reason=SECOND_ROW_COLLIDES[_factory_id(cls)], strict=False))
        if _factory_id(cls) in SECOND_ROW_COLLIDES
        else cls
        for cls in FACTORIES
    ],
    ids=_factory_id,
)
def test_factory_builds_a_second_row_without_colliding(factory_class):
    """Tests build several rows of a kind: unique columns come from sequences, not constants."""
    first, second = factory_class(), factory_class()
    assert first.pk != second.pk
    assert _model_of(factory_class)._base_manager.filter(pk__in=[first.pk, second.pk]).count() == 2
