"""WSGI entry point (gunicorn in production, deploy/Procfile). Never falls back to any settings."""

from django.core.wsgi import get_wsgi_application

from bloom.entrypoints import require_settings_module

require_settings_module("bloom.wsgi")
application = get_wsgi_application()
