"""A campaign that would reach nobody is never scheduled, sent or marked sent (issue 14 point 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from content import services
from content.models import CampaignStatus, NewsletterCampaign, SegmentKind, SubscriberStatus
from notifications.models import EmailQueue
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory, SubscriberSegmentFactory

pytestmark = pytest.mark.django_db

NOBODY = "has no confirmed subscribers, so this campaign would reach nobody"


@pytest.fixture
def enqueued(monkeypatch):
    sent = []
    monkeypatch.setattr("content.tasks.campaign_send_task.delay", lambda campaign_id: sent.append(campaign_id))
    return sent


def test_sending_to_nobody_is_refused_and_nothing_changes(enqueued, django_capture_on_commit_callbacks):
    SubscriberFactory(status=SubscriberStatus.PENDING)  # not confirmed: does not count
    campaign = NewsletterCampaignFactory()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as caught:
        services.campaign_send_start(campaign=campaign)
    assert caught.value.message.startswith("The newsletter " + NOBODY)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.send_started_at is None
    assert enqueued == []


def test_an_empty_segment_is_named_in_the_refusal():
    SubscriberFactory()
    segment = SubscriberSegmentFactory(name="Twins parents", kind=SegmentKind.MANUAL)
    campaign = NewsletterCampaignFactory(segment=segment)
    with pytest.raises(ApplicationError) as caught:
        services.campaign_send_start(campaign=campaign)
    assert caught.value.message.startswith(f"The segment “Twins parents” {NOBODY}")


def test_scheduling_for_nobody_is_refused_on_the_segment_field(superuser):
    campaign = NewsletterCampaign(subject="June", body_html="<p>Hi</p>", scheduled_at=timezone.now())
    with pytest.raises(ValidationError) as caught:
        services.campaign_save(campaign=campaign, user=superuser)
    assert NOBODY in caught.value.message_dict["segment"][0]
    assert not NewsletterCampaign.objects.exists()


def test_a_draft_for_nobody_may_still_be_saved(superuser):
    campaign = services.campaign_save(
        campaign=NewsletterCampaign(subject="June", body_html="<p>Hi</p>"), user=superuser
    )
    assert campaign.status == CampaignStatus.DRAFT


def test_an_audience_that_empties_before_the_send_goes_back_to_draft_not_sent():
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING, send_started_at=timezone.now())
    assert services.campaign_send(campaign=campaign) == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.sent_at is None
    assert not EmailQueue.objects.exists()


def test_a_due_campaign_for_nobody_returns_to_draft_instead_of_retrying_every_minute(enqueued):
    campaign = NewsletterCampaignFactory(
        status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.campaign_send_due() == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and enqueued == []


def test_admin_send_page_refuses_nobody_with_a_message(admin_client, enqueued):
    campaign = NewsletterCampaignFactory(subject="July")
    url = reverse("admin:content_newslettercampaign_send", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    assert "would reach <strong>0</strong> confirmed subscribers" in page
    assert "Yes, send it" not in page  # no button that cannot work
    response = admin_client.post(url, follow=True)  # a stale page posted anyway is refused too
    texts = [str(message) for message in response.context["messages"]]
    assert any(NOBODY in text for text in texts)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and enqueued == []


def test_admin_form_refuses_scheduling_for_nobody_and_keeps_the_typing(admin_client):
    when = timezone.localtime(timezone.now() + timedelta(days=1))
    response = admin_client.post(
        reverse("admin:content_newslettercampaign_add"),
        {
            "subject": "August notes",
            "preheader": "",
            "body_html": "<p>Hi</p>",
            "segment": "",
            "scheduled_at_0": when.date().isoformat(),
            "scheduled_at_1": when.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert NOBODY in response.context["adminform"].form.errors["segment"][0]
    assert 'value="August notes"' in response.content.decode()
    assert not NewsletterCampaign.objects.exists()
