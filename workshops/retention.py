"""Data retention for workshops (docs/adr/0081): processed Zoom deliveries go after BLOOM_RETENTION_DAYS["webhook_events"]."""

from bloom.retention import webhook_events_policy

from .models import ZoomWebhookEvent

POLICIES = [webhook_events_policy(ZoomWebhookEvent)]
