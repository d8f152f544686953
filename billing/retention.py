"""Data retention for billing (docs/adr/0081): processed Stripe deliveries go after BLOOM_RETENTION_DAYS["webhook_events"]."""

from bloom.retention import webhook_events_policy

from .models import StripeWebhookEvent

POLICIES = [webhook_events_policy(StripeWebhookEvent)]
