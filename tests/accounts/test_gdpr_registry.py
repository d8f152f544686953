"""Every model that holds personal data is in the registry (bloom/privacy.py), or says why not."""

from django.apps import apps
from django.conf import settings
from django.db import models

from bloom.privacy import NOT_PERSONAL, Erase, privacy_entry_get, privacy_entry_list

NAMEISH = ("name", "phone")


def _looks_personal(model) -> list[str]:
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    reasons = []
    if model is user_model:
        reasons.append("is the user")
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model is user_model:
            reasons.append(f"{field.name} references a user")
        elif isinstance(field, models.EmailField) or "email" in field.name:
            reasons.append(f"{field.name} holds an email")
        elif isinstance(field, models.GenericIPAddressField):
            reasons.append(f"{field.name} holds an IP address")
        elif isinstance(field, models.FileField):
            reasons.append(f"{field.name} holds a file")
        elif isinstance(field, models.CharField) and any(word in field.name for word in NAMEISH):
            reasons.append(f"{field.name} looks like a name or phone")
        elif isinstance(field, models.TextField | models.JSONField):
            reasons.append(f"{field.name} holds free text")
    return reasons


def test_every_model_that_looks_personal_is_registered_or_explained():
    missing = {
        model._meta.label: reasons
        for model in apps.get_models()
        if (reasons := _looks_personal(model))
        and privacy_entry_get(model._meta.label) is None
        and model._meta.label not in NOT_PERSONAL
    }
    assert missing == {}


def test_kept_rows_name_their_legal_reason_and_nothing_is_both():
    for entry in privacy_entry_list():
        assert entry.model not in NOT_PERSONAL
        if entry.erase == Erase.KEEP_PSEUDONYMISED:
            assert len(entry.reason) > 20, entry.model
        assert entry.subjects or entry.find, entry.model
    assert all(len(reason) > 10 for reason in NOT_PERSONAL.values())


def test_the_registry_covers_the_stated_gaps_with_the_stated_rules():
    rules = {entry.model: entry.erase for entry in privacy_entry_list()}
    assert rules["appointments.AppointmentData"] == Erase.KEEP_PSEUDONYMISED
    assert privacy_entry_get("appointments.AppointmentData").scrub["invitee_email"] == ""
    assert rules["billing.PaymentIntent"] == Erase.KEEP_PSEUDONYMISED
    assert "tax" in privacy_entry_get("billing.PaymentIntent").reason
    assert rules["content.Subscriber"] == Erase.DELETE
    assert rules["content.ContactSubmission"] == Erase.DELETE
    assert rules["content.AnalyticsEvent"] == Erase.ANONYMISE
    assert rules["djstripe.Customer"] == Erase.KEEP_PSEUDONYMISED
    assert privacy_entry_get("content.CareerApplication").files == ("cv",)
