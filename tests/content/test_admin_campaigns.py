import pytest
from django.urls import reverse

from content import services
from content.models import CampaignStatus, NewsletterCampaign
from notifications.models import EmailQueue
from tests.factories.content import (
    NewsletterCampaignFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


def test_admin_send_needs_confirmation_and_test_send_goes_to_staff(admin_client, superuser, monkeypatch):
    monkeypatch.setattr("content.tasks.campaign_send_task.delay", lambda campaign_id: None)
    SubscriberFactory.create_batch(3)
    campaign = NewsletterCampaignFactory()
    url = reverse("admin:content_newslettercampaign_send", args=[campaign.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"<strong>3</strong>" in page.content
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT

    admin_client.post(reverse("admin:content_newslettercampaign_test_send", args=[campaign.pk]))
    test_email = EmailQueue.objects.get()
    assert test_email.to_email == superuser.email and test_email.subject.startswith("[Test]")
    campaign.refresh_from_db()
    assert campaign.recipients_count == 0

    admin_client.post(url)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING


def test_campaign_change_page_shows_the_report(admin_client):
    from django.utils import timezone

    from notifications.models import EmailCampaignMetric

    SubscriberFactory.create_batch(2)
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING)
    services.campaign_send(campaign=campaign)
    EmailCampaignMetric.objects.filter(campaign_id=campaign.pk).update(sent_at=timezone.now())
    response = admin_client.get(reverse("admin:content_newslettercampaign_change", args=[campaign.pk]))
    assert response.status_code == 200
    assert response.context["campaign_report"]["sent"] == 2
    assert b"Delivery and engagement" in response.content


def test_admin_add_campaign_sanitises_and_records_the_author(admin_client, superuser):
    response = admin_client.post(
        reverse("admin:content_newslettercampaign_add"),
        {
            "subject": "June notes",
            "preheader": "",
            "body_html": "<p>Hi</p><img src=x onerror=alert(1)>",
            "segment": "",
            "scheduled_at_0": "",
            "scheduled_at_1": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = NewsletterCampaign.objects.get()
    assert campaign.body_html == '<p>Hi</p><img src="x">'
    assert campaign.created_by == superuser and campaign.status == CampaignStatus.DRAFT


def test_sent_campaigns_are_read_only_in_admin(admin_client):
    SubscriberFactory()  # sent to one reader (a campaign to nobody goes back to draft)
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING)
    services.campaign_send(campaign=campaign)
    url = reverse("admin:content_newslettercampaign_change", args=[campaign.pk])
    admin_client.post(url, {"subject": "Changed", "body_html": "<p>x</p>"})
    campaign.refresh_from_db()
    assert campaign.subject != "Changed" and campaign.status == CampaignStatus.SENT
