"""ASGI entry point. Never falls back to any settings (bloom.entrypoints)."""

from django.core.asgi import get_asgi_application

from bloom.entrypoints import require_settings_module

require_settings_module("bloom.asgi")
application = get_asgi_application()
