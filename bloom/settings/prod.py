"""Production: everything secret or host-specific comes from the environment.

Bloom refuses to start (any process: gunicorn, celery, every manage.py command including
`check --deploy`) while a secret it signs or verifies with is missing or still one of the
development stand-ins, naming each variable (docs/adr/0014). A deployment that forgot one
would otherwise accept forged webhooks or encrypt health data with a published key.
"""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BLOOM_DEV_PLACEHOLDERS, env

# Refused for every variable, not only their own: a stand-in pasted into the wrong variable is still public.
_KNOWN_NOT_SECRET = set(BLOOM_DEV_PLACEHOLDERS.values())
_problems: list[str] = []


def _secret(name: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        _problems.append(f"{name} is not set")
    elif value in _KNOWN_NOT_SECRET:
        _problems.append(f"{name} is a development placeholder; set the real secret")
    return value


def _fernet_keys(name: str) -> list[str]:
    keys = [key.strip() for key in env.list(name, default=[]) if key.strip()]
    if not keys:
        _problems.append(f"{name} is not set")
    for position, key in enumerate(keys, start=1):
        if key in _KNOWN_NOT_SECRET:
            _problems.append(f"{name} key {position} is a development placeholder; generate a new key")
            continue
        try:
            Fernet(key.encode())
        except ValueError:
            _problems.append(f"{name} key {position} is not a Fernet key (32 url-safe base64-encoded bytes)")
    return keys


DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="").strip()
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure-"):
    _problems.append("DJANGO_SECRET_KEY must be set to a random value of at least 50 characters")
BLOOM_FIELD_ENCRYPTION_KEYS = _fernet_keys("BLOOM_FIELD_ENCRYPTION_KEYS")
STRIPE_SECRET_KEY = _secret("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = _secret("STRIPE_WEBHOOK_SECRET")
DJSTRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=True)
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY
CALENDLY_WEBHOOK_SIGNING_KEY = _secret("CALENDLY_WEBHOOK_SIGNING_KEY")
ZOOM_WEBHOOK_SECRET_TOKEN = _secret("ZOOM_WEBHOOK_SECRET_TOKEN")
# The ESP webhook endpoint (notifications/esp/) is always mounted, so its basic-auth secret is
# needed even when mail leaves by plain SMTP: without it anyone could post suppressions.
ANYMAIL = {**ANYMAIL, "WEBHOOK_SECRET": _secret("ANYMAIL_WEBHOOK_SECRET")}  # noqa: F405

if _problems:
    raise ImproperlyConfigured(
        "Production settings refuse to start:\n" + "\n".join(f"  - {problem}" for problem in _problems)
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
BLOOM_STAFF_MFA_REQUIRED = True
# Transmission security (HIPAA 164.312(e), docs/privacy.md): mail leaves over STARTTLS unless the
# relay speaks implicit TLS (EMAIL_USE_SSL=true) or the deployment says otherwise.
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
# collectstatic writes here and WhiteNoise serves from here (hashed, compressed names).
STATIC_ROOT = env("BLOOM_STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405
# One JSON object per log line (docs/adr/0152); BLOOM_LOG_FORMAT=console to read by eye.
LOGGING["handlers"]["console"]["formatter"] = env("BLOOM_LOG_FORMAT", default="json")  # noqa: F405
