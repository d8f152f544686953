import pytest

from content import services
from content.models import CampaignStatus
from notifications.models import EmailQueue
from tests.factories.content import (
    NewsletterCampaignFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.worker
def test_worker_sends_a_started_campaign(celery_worker_process):
    import time

    SubscriberFactory.create_batch(3)
    campaign = NewsletterCampaignFactory()
    services.campaign_send_start(campaign=campaign)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        campaign.refresh_from_db()
        if campaign.status == CampaignStatus.SENT:
            break
        time.sleep(0.2)
    assert campaign.status == CampaignStatus.SENT
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == 3
