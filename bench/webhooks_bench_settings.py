"""Settings for bench/bench_webhooks.py: the test settings plus a bench-only urlconf and Stripe stub."""

import os

from bloom.settings.test import *  # noqa: F403

ROOT_URLCONF = "webhooks_bench_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
STRIPE_API_BASE = os.environ.get("BENCH_STRIPE_API_BASE", "http://127.0.0.1:9")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BLOOM_CELERY_QUEUE", "bench-webhooks")
BILLING_DJSTRIPE_MIRROR = False
DATABASES["default"]["CONN_MAX_AGE"] = 600  # noqa: F405
LOGGING["root"]["level"] = "ERROR"  # noqa: F405
# dj-stripe validates the shape of API keys (no underscores after the prefix).
STRIPE_SECRET_KEY = STRIPE_TEST_SECRET_KEY = "sk_test_" + "bloombench" * 3
# The test settings let commits skip waiting for the disk; a webhook endpoint's promise is
# that the event is durable before it answers 200, so the bench measures with the wait on.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=on"  # noqa: F405
