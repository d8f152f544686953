import pytest

from content import services
from content.models import CampaignStatus
from notifications.models import EmailQueue
from tests.factories.content import (
    NewsletterCampaignFactory,
    SubscriberFactory,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.mark.worker
def test_worker_sends_a_started_campaign(celery_worker_process):
    SubscriberFactory.create_batch(3)
    campaign = NewsletterCampaignFactory()
    services.campaign_send_start(campaign=campaign)

    def sent() -> bool:
        campaign.refresh_from_db()
        return campaign.status == CampaignStatus.SENT

    wait_until(sent, timeout=30, what=lambda: f"the campaign to be sent (status {campaign.status})")
    assert campaign.status == CampaignStatus.SENT
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == 3
