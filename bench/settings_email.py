"""Settings for bench/bench_email.py only: the test settings plus the two peer outboxes."""

import os

from bloom.settings.test import *  # noqa: F403
from bloom.settings.test import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "post_office", "mailer"]
DATABASES["default"]["NAME"] = os.environ.get("BENCH_EMAIL_DB", "bloom_bench_email")
DATABASES["default"]["CONN_MAX_AGE"] = None
# Production durability: the test settings turn synchronous_commit off for every connection,
# which would flatter the peers and make "Bloom, synchronous_commit on" measure nothing.
DATABASES["default"]["OPTIONS"].pop("options", None)
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "1025"))
EMAIL_USE_TLS = False
POST_OFFICE = {"BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"}, "DEFAULT_PRIORITY": "medium"}
MAILER_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# Lock files of the peers' send commands, per database, so two bench runs never share one.
MAILER_LOCK_PATH = str(BASE_DIR / ".services" / f"bench-mailer-{DATABASES['default']['NAME']}")  # noqa: F405
POST_OFFICE_LOCK_PATH = str(BASE_DIR / ".services" / f"bench-post-office-{DATABASES['default']['NAME']}")  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
# post_office installs a chatty INFO handler when its logger has none: give it a silent one.
LOGGING["handlers"]["bench_null"] = {"class": "logging.NullHandler"}  # noqa: F405
LOGGING["loggers"]["post_office"] = {"level": "WARNING", "handlers": ["bench_null"], "propagate": False}  # noqa: F405
LOGGING["loggers"]["mailer"] = {"level": "WARNING", "handlers": ["bench_null"], "propagate": False}  # noqa: F405
