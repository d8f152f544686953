"""Data retention for appointments (docs/adr/0081): processed Calendly deliveries go after BLOOM_RETENTION_DAYS["webhook_events"]."""

from bloom.retention import webhook_events_policy

from .models import CalendlyWebhookEvent

POLICIES = [webhook_events_policy(CalendlyWebhookEvent)]
