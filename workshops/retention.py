"""Data retention for workshops (docs/adr/0081, 0350).

Processed Zoom deliveries go after BLOOM_RETENTION_DAYS["webhook_events"]. A member registered
or waitlisted for a workshop that has not ended keeps all her rows (HOLDS).
"""

from bloom.retention import RetentionHold, webhook_events_policy

from .models import RegistrationStatus, WorkshopRegistration, ZoomWebhookEvent

POLICIES = [webhook_events_policy(ZoomWebhookEvent)]

HOLDS = [
    RetentionHold(
        name="upcoming workshop registration",
        users=lambda now: WorkshopRegistration.objects.filter(
            status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED], workshop__ends_at__gt=now
        ).values("user_id"),
    )
]
