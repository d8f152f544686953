"""The test suite: real PostgreSQL and Redis, fast hashing, locmem mail by default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-key-not-secret-8d1f0b"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES["default"]["KEY_PREFIX"] = env("BLOOM_CACHE_PREFIX", default="bloom-test")  # noqa: F405
BLOOM_STAFF_MFA_REQUIRED = True
STRIPE_SECRET_KEY = "sk_test_bloom_tests"
STRIPE_TEST_SECRET_KEY = STRIPE_SECRET_KEY
STRIPE_WEBHOOK_SECRET = "whsec_bloom_tests"
DJSTRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
# A worker subprocess started by a test reaches that test's fake Stripe server through this.
STRIPE_API_BASE = env("BLOOM_TEST_STRIPE_API_BASE", default="http://stripe.invalid")
BLOOM_FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWtleS1uZXZlci11c2UtaW4tcHJvZCE="]
# Tasks sent without a worker (most tests) go to a queue of their own, never to `make run`'s.
CELERY_TASK_DEFAULT_QUEUE = env("BLOOM_CELERY_QUEUE", default="bloom-test")
# The suite's databases are thrown away: commits need not wait for the disk (10+ ms each on a
# busy machine). Durability behaviour under test (leases, SKIP LOCKED, crash recovery) is
# about process crashes, which this does not change; only a PostgreSQL crash could lose data.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405
# The suite reads everything from its one test database, even with DATABASE_REPLICA_URL set;
# tests/bloom/test_dbrouter.py brings its own replica.
DATABASES.pop("replica", None)  # noqa: F405
# The suite's own process uses plain connections: its tests open connections in threads of
# their own, and a thread that ends without returning its pooled connection would shrink a
# pool for every later test. Servers the suite starts as subprocesses (dev, prod-like
# settings) use the pool as shipped (tests/bloom/test_connections.py).
if not env.bool("BLOOM_DB_POOL", default=False):
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Every cache or broker call tries Redis, so a test that simulates an outage leaves nothing
# behind for the next test (bloom.outage).
BLOOM_REDIS_OUTAGE_SECONDS = 0
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
