"""Thin Celery wrappers over content services; each takes ids and may run twice safely."""

from bloom.taskdef import BACKOFF, task

from .models import NewsletterCampaign
from .services import campaign_send, campaign_send_due, subscriber_engagement_recompute


@task(retry=BACKOFF, acks_late=True)
def campaign_send_task(campaign_id: str) -> int:
    campaign = NewsletterCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    return campaign_send(campaign=campaign)


@task(acks_late=True)
def campaign_send_due_task() -> int:
    return campaign_send_due()


@task(acks_late=True)
def subscriber_engagement_recompute_task() -> int:
    return subscriber_engagement_recompute()
