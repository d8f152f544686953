"""Settings shared by every environment.

One django-environ object reads the process environment (and `.env` when present);
environments differ only by what the environment says (docs/adr/0001).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("BLOOM_SITE_URL", default="http://127.0.0.1:8000")

# Stand-ins for the secrets Bloom signs and verifies with, so `make run` and the tests need
# none. Production refuses each of these values by value, whatever variable holds it
# (bloom/settings/prod.py, docs/adr/0014).
BLOOM_DEV_PLACEHOLDERS = {
    "STRIPE_SECRET_KEY": "sk_test_bloom_dev_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_bloom_dev_placeholder",
    "CALENDLY_WEBHOOK_SIGNING_KEY": "calendly_dev_signing_key",
    "ZOOM_WEBHOOK_SECRET_TOKEN": "zoom_dev_secret_token",
    "ANYMAIL_WEBHOOK_SECRET": "bloom:dev-webhook-secret",
    "BLOOM_FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE=",
}

DJANGO_APPS = [
    "bloom.apps.BloomAdminConfig",  # django.contrib.admin with Bloom's site (bloom/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # OpClass in index expressions (the admin search indexes, bloom/fields.py)
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "djstripe",
    "anymail",
]
# Order follows the import stack of ARCHITECTURE.md, lowest first.
LOCAL_APPS = [
    "bloom",
    "notifications",
    "accounts",
    "billing",
    "content",
    "courses",
    "workshops",
    "appointments",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "bloom.logging.RequestIdMiddleware",  # request id and one log line per request (docs/adr/0152)
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY, docs/adr/0140).
    "bloom.csp.BloomCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every write of the request is credited to its sender in the audit trail (docs/adr/0310).
    "bloom.audit.AuditContextMiddleware",
    # Every view needs a signed-in user unless it is marked @login_not_required (docs/adr/0015).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.MemberTimezoneMiddleware",
    # Staff are signed out after BLOOM_STAFF_IDLE_MINUTES without a request (docs/privacy.md).
    "accounts.middleware.StaffIdleLogoutMiddleware",
    "accounts.middleware.StaffMFARequiredMiddleware",
    # A new terms / privacy version is agreed to before anything else (docs/accounts.md "Consent").
    "accounts.middleware.PolicyAgreementMiddleware",
]

ROOT_URLCONF = "bloom.urls"
WSGI_APPLICATION = "bloom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bloom.context_processors.site",
                "notifications.context_processors.unread_count",
            ],
        },
    },
]

# Widgets' HTML kept per context in each process (bloom/form_renderer.py, issue 18 point 2).
FORM_RENDERER = "bloom.form_renderer.KeepingRenderer"

# --- Database -------------------------------------------------------------------------
# DATABASE_URL is always set by bloom.devservices (make run / make test) or by the
# deployment; the fallback only serves `manage.py` typed by hand on a dev machine.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/bloom")}
# One psycopg pool per process (docs/adr/0006). runserver starts a thread per request and a
# persistent connection per thread was never closed; the pool caps a process at
# BLOOM_DB_POOL_MAX_SIZE connections, lends one per request and takes it back when the
# request ends, so a burst waits (at most BLOOM_DB_POOL_TIMEOUT seconds, then the request
# fails with a database error) instead of opening a connection per thread. The pool needs
# CONN_MAX_AGE = 0: "closing" a connection returns it to the pool.
if env.bool("BLOOM_DB_POOL", default=True):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("BLOOM_DB_POOL_MIN_SIZE", default=0),
        "max_size": env.int("BLOOM_DB_POOL_MAX_SIZE", default=10),
        "timeout": env.float("BLOOM_DB_POOL_TIMEOUT", default=5.0),
        "max_idle": env.float("BLOOM_DB_POOL_MAX_IDLE", default=300.0),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False


def replica_database(default: dict, replica: dict) -> dict:
    """The `replica` alias: `replica`'s address with `default`'s connection handling, and
    every transaction read-only (a write sent there by mistake fails rather than diverging)."""
    options = {**default.get("OPTIONS", {}), **replica.get("OPTIONS", {})}
    options["options"] = " ".join(filter(None, [options.get("options"), "-c default_transaction_read_only=on"]))
    return {
        **replica,
        "CONN_MAX_AGE": default["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": default["CONN_HEALTH_CHECKS"],
        "ATOMIC_REQUESTS": False,
        "OPTIONS": options,
    }


# An optional read replica (docs/adr/0154): reports and warehouse loads read from it
# (bloom.dbrouter); writes, migrations and everything else stay on default.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = replica_database(DATABASES["default"], env.db("DATABASE_REPLICA_URL"))
DATABASE_ROUTERS = ["bloom.dbrouter.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and cache ----------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Redis may vanish (docs/adr/0008): the cache answers like an empty cache while Redis is
# unreachable (bloom.cache), after one connect attempt bounded by a short timeout, and skips
# Redis for BLOOM_REDIS_OUTAGE_SECONDS after a failure so a request pays that timeout once.
BLOOM_REDIS_OUTAGE_SECONDS = env.float("BLOOM_REDIS_OUTAGE_SECONDS", default=2.0)
CACHES = {
    "default": {
        "BACKEND": "bloom.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("BLOOM_CACHE_PREFIX", default="bloom"),
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
    }
}
# A rate limit whose counter cannot be read lets the request through rather than turning
# every public form away while Redis is down; the limits hold again when it returns.
RATELIMIT_FAIL_OPEN = True

# --- Auth (allauth) ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, each loading the profile with the user (docs/adr/0420).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # allauth's model (docs/adr/0017): five failures lock one account (the key is the address for
    # passwords, the user for MFA codes); the per-IP limit only slows a sweep across accounts.
    # The key comes first so an account already locked spends none of its IP's allowance, and one
    # person's typos never lock out a colleague behind the same office address.
    "login_failed": "5/5m/key,10/m/ip",
    # Sign-up says when an address already has an account (ADR 0013), so it is limited tighter.
    "signup": "10/m/ip,60/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Bloom] "
# Tell the old address when the email or password of an account changes.
ACCOUNT_EMAIL_NOTIFICATIONS = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Bloom Psychology"
# These forms write a Security event when the sign-in lockout refuses a code (accounts.forms).
MFA_FORMS = {
    "authenticate": "accounts.forms.MFAAuthenticateForm",
    "reauthenticate": "accounts.forms.MFAReauthenticateForm",
}
# Staff must have MFA before they can use the admin (accounts.middleware).
BLOOM_STAFF_MFA_REQUIRED = env.bool("BLOOM_STAFF_MFA_REQUIRED", default=True)
# Automatic logoff for staff (HIPAA 164.312(a)(2)(iii)); 0 turns it off.
BLOOM_STAFF_IDLE_MINUTES = env.int("BLOOM_STAFF_IDLE_MINUTES", default=30)
# How long a staff invitation link works (accounts/services/invitations.py).
BLOOM_STAFF_INVITATION_DAYS = env.int("BLOOM_STAFF_INVITATION_DAYS", default=7)
# How many reverse proxies we run in front of Bloom (docs/adr/0016). 0: REMOTE_ADDR is the
# client and X-Forwarded-For is ignored; N: the Nth X-Forwarded-For entry from the right.
# bloom.http.client_ip reads it for rate limits, lockouts and audit rows; allauth and
# django-ratelimit ask that helper too.
BLOOM_TRUSTED_PROXY_COUNT = env.int("BLOOM_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = BLOOM_TRUSTED_PROXY_COUNT
RATELIMIT_IP_META_KEY = "bloom.http.client_ip"
# This many failed sign-ins (passwords, MFA codes, refused attempts) for one account or one
# address within the window alert the owners once per window (docs/adr/0018).
BLOOM_SIGNIN_ALERT_THRESHOLD = env.int("BLOOM_SIGNIN_ALERT_THRESHOLD", default=10)
BLOOM_SIGNIN_ALERT_WINDOW_MINUTES = env.int("BLOOM_SIGNIN_ALERT_WINDOW_MINUTES", default=10)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
BLOOM_DEFAULT_MEMBER_TIMEZONE = "America/Los_Angeles"
# The zone staff schedule practice-wide things in (newsletter campaigns' "send at").
BLOOM_PRACTICE_TIME_ZONE = env("BLOOM_PRACTICE_TIME_ZONE", default="America/Los_Angeles")

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env("BLOOM_MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Email --------------------------------------------------------------------------------
# Mail is only ever sent by the outbox drain (notifications); this is its transport.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=1025)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Where DJANGO_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend writes (one file per drain).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / ".services" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Bloom Psychology <hello@bloompsychology.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
BLOOM_STAFF_ALERT_EMAIL = env("BLOOM_STAFF_ALERT_EMAIL", default="care-team@bloompsychology.example")
# Staff are reminded this many days before a data request's one-month deadline (GDPR 12(3), docs/accounts.md).
BLOOM_DATA_REQUEST_REMINDER_DAYS = env.int("BLOOM_DATA_REQUEST_REMINDER_DAYS", default=7)
# Minutes a risk alert (urgent screening, flagged words) may wait unacknowledged before the
# owners are alerted too (accounts.services.screening.risk_alerts_escalate, docs/adr/0103).
BLOOM_RISK_ALERT_ESCALATE_AFTER = env.int("BLOOM_RISK_ALERT_ESCALATE_AFTER", default=30)
# Data retention (docs/adr/0081, 0350; the table in docs/operations.md): days before
# `manage.py apply_retention` (nightly in beat) deletes or redacts each category. Each key is
# also an environment variable BLOOM_RETENTION_<KEY>_DAYS.
BLOOM_RETENTION_DAYS = {
    "webhook_events": env.int("BLOOM_RETENTION_WEBHOOK_EVENTS_DAYS", default=90),
    "email_bodies": env.int("BLOOM_RETENTION_EMAIL_BODIES_DAYS", default=365),
    "analytics_events": env.int("BLOOM_RETENTION_ANALYTICS_EVENTS_DAYS", default=730),
    # After the member's last session (adults; 7 years, HIPAA's 6 and most states' 7+).
    "clinical_records": env.int("BLOOM_RETENTION_CLINICAL_RECORDS_DAYS", default=2557),
    # After the payment (tax and card-network records: 7 years).
    "payments": env.int("BLOOM_RETENTION_PAYMENTS_DAYS", default=2557),
    # After the relationship ends (her last sign-in): proof of consent for 6 years.
    "consent_records": env.int("BLOOM_RETENTION_CONSENT_RECORDS_DAYS", default=2192),
    # After her last check-in and sign-in, unless shared with or raised to her clinician.
    "wellness": env.int("BLOOM_RETENTION_WELLNESS_DAYS", default=731),
    "contact_messages": env.int("BLOOM_RETENTION_CONTACT_MESSAGES_DAYS", default=365),
    "chats": env.int("BLOOM_RETENTION_CHATS_DAYS", default=365),
    # After the role closed (CV files are deleted from storage too).
    "career_applications": env.int("BLOOM_RETENTION_CAREER_APPLICATIONS_DAYS", default=183),
    # After she applied, when she asked us to keep her application on file.
    "career_applications_on_file": env.int("BLOOM_RETENTION_CAREER_APPLICATIONS_ON_FILE_DAYS", default=730),
    "security_events": env.int("BLOOM_RETENTION_SECURITY_EVENTS_DAYS", default=365),
    "admin_activity": env.int("BLOOM_RETENTION_ADMIN_ACTIVITY_DAYS", default=2192),
}
# Members whose rows no retention policy touches (a legal hold), by sign-in email.
BLOOM_RETENTION_LEGAL_HOLD_EMAILS = env.list("BLOOM_RETENTION_LEGAL_HOLD_EMAILS", default=[])
ANYMAIL = {"WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default=BLOOM_DEV_PLACEHOLDERS["ANYMAIL_WEBHOOK_SECRET"])}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Sending a task never waits long on a missing Redis (docs/adr/0008): one connect attempt with
# a short timeout and no publish retries. Every message only wakes work a PostgreSQL row
# holds, and a beat sweeper re-sends what was lost, so a failed send is logged and dropped
# (bloom.tasks.send). Workers keep retrying their own broker connection for as long as it takes.
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "max_retries": 0,
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
}
CELERY_TASK_PUBLISH_RETRY = False
# No task result is read except the ping's (tests, by hand), so results are off by default:
# subscribing to a result is what blocked a caller for 20 s and left "The Celery application
# must be restarted" behind when Redis was down. Tasks whose result someone reads opt in.
CELERY_TASK_IGNORE_RESULT = True
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 0.5
CELERY_REDIS_SOCKET_TIMEOUT = 2.0
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The queue prefix: the default workload's queue, and `<prefix>.<workload>` for the others.
# Tasks are routed by name in bloom/queues.py (docs/adr/0153); bloom.celery declares every
# workload queue of the prefix, so a worker without -Q consumes them all.
CELERY_TASK_DEFAULT_QUEUE = env("BLOOM_CELERY_QUEUE", default="bloom")
CELERY_TASK_ROUTES = ("bloom.queues.route_task",)

# --- Third-party services -----------------------------------------------------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default=BLOOM_DEV_PLACEHOLDERS["STRIPE_SECRET_KEY"])
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_bloom_dev_placeholder")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default=BLOOM_DEV_PLACEHOLDERS["STRIPE_WEBHOOK_SECRET"])
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = STRIPE_SECRET_KEY
DJSTRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
CALENDLY_WEBHOOK_SIGNING_KEY = env(
    "CALENDLY_WEBHOOK_SIGNING_KEY", default=BLOOM_DEV_PLACEHOLDERS["CALENDLY_WEBHOOK_SIGNING_KEY"]
)
CALENDLY_API_TOKEN = env("CALENDLY_API_TOKEN", default="")

# --- Booking a therapist: policy and Good Faith Estimates (docs/appointments.md, ADR 0202-0203) ---
# The practice as it appears on a Good Faith Estimate (No Surprises Act) and on superbills.
BLOOM_PRACTICE_NAME = env("BLOOM_PRACTICE_NAME", default="Bloom Psychology")
BLOOM_PRACTICE_ADDRESS = env("BLOOM_PRACTICE_ADDRESS", default="100 Example Street, Suite 1, Pasadena, CA 91101")
BLOOM_PRACTICE_TAX_ID = env("BLOOM_PRACTICE_TAX_ID", default="00-0000000")
# Bump when the wording of the cancellation and no-show policy changes: members accept again.
BLOOM_BOOKING_POLICY_VERSION = env("BLOOM_BOOKING_POLICY_VERSION", default="2026-12")
# A Good Faith Estimate covers this many sessions of this service code and is valid this long.
BLOOM_GFE_EXPECTED_SESSIONS = env.int("BLOOM_GFE_EXPECTED_SESSIONS", default=12)
BLOOM_GFE_SERVICE_CODE = env("BLOOM_GFE_SERVICE_CODE", default="90834")
BLOOM_GFE_VALID_DAYS = env.int("BLOOM_GFE_VALID_DAYS", default=365)
CALENDLY_API_BASE = env("CALENDLY_API_BASE", default="https://api.calendly.com")
CALENDLY_API_TIMEOUT = env.float("CALENDLY_API_TIMEOUT", default=10.0)
# The organization (or, without one, the user) whose scheduled events the nightly reconciliation reads.
CALENDLY_ORGANIZATION_URI = env("CALENDLY_ORGANIZATION_URI", default="")
CALENDLY_USER_URI = env("CALENDLY_USER_URI", default="")
# Appointment reminders: offsets before the session (m, h or d), e.g. "48h,2h" (appointments/reminders.py).
BLOOM_APPOINTMENT_REMINDER_OFFSETS = env("BLOOM_APPOINTMENT_REMINDER_OFFSETS", default="48h,2h")
ZOOM_WEBHOOK_SECRET_TOKEN = env(
    "ZOOM_WEBHOOK_SECRET_TOKEN", default=BLOOM_DEV_PLACEHOLDERS["ZOOM_WEBHOOK_SECRET_TOKEN"]
)
WEBHOOK_TOLERANCE_SECONDS = 300

# --- Encryption of health information (docs/adr/0004) ----------------------------------
# Comma-separated Fernet keys, newest first; older keys still decrypt during rotation.
BLOOM_FIELD_ENCRYPTION_KEYS = env.list(
    "BLOOM_FIELD_ENCRYPTION_KEYS",
    default=[BLOOM_DEV_PLACEHOLDERS["BLOOM_FIELD_ENCRYPTION_KEYS"]],
)

# --- Security defaults --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "bloom.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp, docs/adr/0140): scripts and styles only from Bloom's own
# static files, never inline, never eval; Stripe.js and its frames as Stripe asks; the lesson
# video players courses allow. bloom.csp adds the admin's inline styles and the 500 page's hash.
_STRIPE_JS = ["https://js.stripe.com", "https://*.js.stripe.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *_STRIPE_JS],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "https://api.stripe.com"],
        "frame-src": [
            *_STRIPE_JS,
            "https://hooks.stripe.com",
            "https://www.youtube.com",
            "https://youtube.com",
            "https://www.youtube-nocookie.com",
            "https://youtube-nocookie.com",
            "https://player.vimeo.com",
        ],
        # A checkout form's answer is a redirect to Stripe's hosted page, which form-action covers.
        "form-action": ["'self'", "https://checkout.stripe.com"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Backups (`manage.py backup`, nightly in beat when the directory is set; docs/operations.md).
BLOOM_BACKUP_DIR = env("BLOOM_BACKUP_DIR", default="")
BLOOM_BACKUP_KEEP = env.int("BLOOM_BACKUP_KEEP", default=14)

# Structured logs through structlog (bloom.logging, docs/adr/0152): `console` is a readable line,
# `json` one object per line (production's default). Lines carry the request id, the user's
# pseudonym (HMAC of the id under BLOOM_LOG_HMAC_KEY, default derived from SECRET_KEY), the task
# id and timings, and never an email, a name or health information.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {"()": "bloom.logging.console_formatter"},
        "json": {"()": "bloom.logging.json_formatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": env("BLOOM_LOG_FORMAT", default="console")}
    },
    # DEBUG records of these loggers carry personal data (bloom.logging.NoDebugRecords).
    "filters": {"no_debug": {"()": "bloom.logging.NoDebugRecords"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"filters": ["no_debug"]},
        "django.template": {"filters": ["no_debug"]},
    },
}
BLOOM_LOG_HMAC_KEY = env("BLOOM_LOG_HMAC_KEY", default="")
# Take the request id from the proxy's X-Request-ID; only behind proxies we run (ADR 0016).
BLOOM_TRUST_REQUEST_ID = env.bool("BLOOM_TRUST_REQUEST_ID", default=BLOOM_TRUSTED_PROXY_COUNT > 0)
# Workers log through LOGGING above rather than Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# What a task writes to stdout is not a log line: the console email backend prints the whole mail
# there (make run's verification link, with its recipient), and app code never prints (ruff T20).
# Left unredirected, it reaches the terminal as written instead of through the log scrubber.
CELERY_WORKER_REDIRECT_STDOUTS = False


# --- workshops ---
# How long a seat offered to the next member on the waitlist is held for them.
WORKSHOPS_WAITLIST_OFFER_HOURS = env.int("WORKSHOPS_WAITLIST_OFFER_HOURS", default=24)
# How long a paid workshop's seat is held while the member pays at checkout.
WORKSHOPS_PAYMENT_HOLD_MINUTES = env.int("WORKSHOPS_PAYMENT_HOLD_MINUTES", default=30)

# --- billing ---
# Copy webhook objects into dj-stripe's tables in a separate best-effort task (docs/billing.md).
BILLING_DJSTRIPE_MIRROR = env.bool("BILLING_DJSTRIPE_MIRROR", default=True)

# --- content ---
# Alerts about new job applications go here (the care-team inbox unless set).
BLOOM_CAREERS_ALERT_EMAIL = env("BLOOM_CAREERS_ALERT_EMAIL", default=BLOOM_STAFF_ALERT_EMAIL)

# --- accounts ---
# Staff sessions and the admin audit trail (admin_sessions, admin_activity_log).
MIDDLEWARE += ["accounts.middleware.AdminAuditMiddleware"]

# --- notifications ---
BLOOM_EMAIL_DOMAIN = env("BLOOM_EMAIL_DOMAIN", default="")  # Message-ID domain; default: DEFAULT_FROM_EMAIL's
BLOOM_EMAIL_BATCH_SIZE = env.int("BLOOM_EMAIL_BATCH_SIZE", default=100)
BLOOM_EMAIL_LEASE_SECONDS = env.int("BLOOM_EMAIL_LEASE_SECONDS", default=300)
BLOOM_EMAIL_MAX_RETRIES = env.int("BLOOM_EMAIL_MAX_RETRIES", default=5)
BLOOM_EMAIL_RETRY_BASE_SECONDS = env.int("BLOOM_EMAIL_RETRY_BASE_SECONDS", default=60)
BLOOM_EMAIL_DRAIN_SECONDS = env.int("BLOOM_EMAIL_DRAIN_SECONDS", default=50)
