"""What every process entry point (wsgi, asgi, the Celery app) asks before it loads settings.

A server process never guesses its settings: without DJANGO_SETTINGS_MODULE it refuses to
start and says what to set, rather than falling back to development settings (their
published stand-in secrets would sign sessions and encrypt health data). `manage.py` is the
developer's tool and keeps a loud development default (docs/adr/0150).
"""

import os

from django.core.exceptions import ImproperlyConfigured

MISSING_SETTINGS_MESSAGE = (
    "{what} refuses to start: DJANGO_SETTINGS_MODULE is not set. Set "
    "DJANGO_SETTINGS_MODULE=bloom.settings.prod in production (docs/deploy.md), or "
    "bloom.settings.dev for development (`make run` sets it)."
)


def require_settings_module(what: str) -> str:
    """The settings module named by the environment; ImproperlyConfigured when there is none."""
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "").strip()
    if not module:
        raise ImproperlyConfigured(MISSING_SETTINGS_MESSAGE.format(what=what))
    return module


def __getattr__(name: str):
    # `celery_django_settings`, read by bloom.celery's config_from_object.
    if name == "celery_django_settings":
        require_settings_module("Celery (bloom.celery)")
        from django.conf import settings

        return settings
    raise AttributeError(name)
