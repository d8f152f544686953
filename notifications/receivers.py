"""anymail's normalised delivery events (bounces, complaints) from the provider's signed webhooks."""

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
