"""The email provider's (ESP's) tracking webhooks: bounces and complaints, through anymail.

The ESP is the one webhook provider that is not a `bloom.webhooks.WebhookProvider`: anymail
owns its endpoints (mounted by `bloom.webhooks.webhook_urlconf` under /notifications/esp/,
so they answer with or without the slash and say 503 when the database is down), verifies
each delivery (HTTP basic auth against ANYMAIL["WEBHOOK_SECRET"]; a refusal answers 400 and
is logged by Django's `django.security` logger), and normalises every ESP's payload into
tracking events. Each event is applied here, in the request, by `delivery_event_record`,
which is idempotent (a suppression is added once, a metric row stamped once). Nothing is
stored first, so there is nothing to sweep or reprocess: an ESP retries what got a 5xx.
"""

from anymail.signals import tracking
from django.dispatch import receiver

from .services import delivery_event_record


@receiver(tracking, dispatch_uid="notifications.anymail_tracking")
def anymail_tracking_received(sender, event, esp_name, **kwargs) -> None:
    delivery_event_record(
        event_type=event.event_type,
        recipient=event.recipient or "",
        message_id=event.message_id,
        timestamp=event.timestamp,
        description=event.description or event.mta_response or "",
    )
