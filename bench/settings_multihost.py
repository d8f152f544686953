"""Settings for bench/multihost.py's workers and its own process: the test settings with real
SMTP to the run's sink on the bridge, real (non-eager) Celery and no dj-stripe mirror (it would
call Stripe's API; the run measures Bloom's own processing of stored events)."""

import os

from bloom.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("BENCH_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "1025"))
EMAIL_USE_TLS = False
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
CELERY_TASK_ALWAYS_EAGER = False
BILLING_DJSTRIPE_MIRROR = False
# The run's purchase kind (counts each payment's on_paid in the run's own table).
CELERY_IMPORTS = ["bench.multihost_kind"]
