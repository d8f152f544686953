"""Local development: `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-4f9c1e7a2b")
# Mail goes through the outbox to the console unless SMTP settings say otherwise.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
BLOOM_STAFF_MFA_REQUIRED = env.bool("BLOOM_STAFF_MFA_REQUIRED", default=True)
