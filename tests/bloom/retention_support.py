"""Shared by the retention tests: rows moved back in time, and the command's output."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone


def ago(days: int):
    return timezone.now() - timedelta(days=days)


def aged(instance, days: int, field: str = "created_at"):
    """Move `instance`'s `field` `days` into the past (in the database and on the instance)."""
    value = ago(days)
    if field.endswith("_date"):
        value = value.date()
    type(instance)._base_manager.filter(pk=instance.pk).update(**{field: value})
    setattr(instance, field, value)
    return instance


def inactive(user, days: int):
    """A member who signed up and last signed in `days` ago."""
    type(user).objects.filter(pk=user.pk).update(last_login=ago(days), date_joined=ago(days))
    return user


def run_retention(*args) -> str:
    out = StringIO()
    call_command("apply_retention", *args, stdout=out)
    return out.getvalue()
