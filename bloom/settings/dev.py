"""Local development: `make run`."""

from .base import *  # noqa: F403
from .base import STORAGES, env

# Members, and anyone trying Bloom, see the branded error pages as in production; Django's
# debug pages (tracebacks, settings, the URL list) appear only for a developer who sets
# DJANGO_DEBUG=1 (docs/adr/0090).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# runserver serves static files through WhiteNoise whatever DEBUG says, straight from the
# source folders (a CSS change shows on reload, and `manage.py runserver` works without
# collectstatic), under unhashed names as DEBUG used to give.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-4f9c1e7a2b")
# Mail goes through the outbox to the console unless SMTP settings say otherwise.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
BLOOM_STAFF_MFA_REQUIRED = env.bool("BLOOM_STAFF_MFA_REQUIRED", default=True)
