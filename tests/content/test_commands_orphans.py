from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from content.models import (
    ApprovalDecision,
    CampaignStatus,
    ChatConversation,
    ContentApproval,
    PostStatus,
    Subscriber,
    SubscriberStatus,
)
from content.orphans import CHECKS
from tests.factories.content import (
    BlogPostFactory,
    ChatConversationFactory,
    ChatMessageFactory,
    ContentApprovalFactory,
    NewsletterCampaignFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db
CHECK = {check.name.split(" ")[0]: check for check in CHECKS}


def test_pending_review_of_a_post_no_longer_in_review_is_withdrawn():
    stale = ContentApprovalFactory(post=BlogPostFactory(status=PostStatus.DRAFT))
    live = ContentApprovalFactory()
    check = CHECK["content_approvals"]
    assert list(check.find()) == [stale]
    assert check.fix(check.find()) == 1
    stale.refresh_from_db()
    live.refresh_from_db()
    assert stale.decision == ApprovalDecision.WITHDRAWN and stale.decided_at is not None
    assert live.decision == ApprovalDecision.PENDING


def test_unconfirmed_sign_ups_past_the_link_lifetime_are_deleted():
    old = SubscriberFactory(status=SubscriberStatus.PENDING, confirmation_sent_at=timezone.now() - timedelta(days=9))
    fresh = SubscriberFactory(status=SubscriberStatus.PENDING, confirmation_sent_at=timezone.now() - timedelta(days=2))
    confirmed = SubscriberFactory()
    Subscriber.objects.filter(pk=confirmed.pk).update(created_at=timezone.now() - timedelta(days=60))
    check = CHECK["subscribers"]
    assert list(check.find()) == [old]
    assert check.fix(check.find()) == 1
    assert set(Subscriber.objects.values_list("pk", flat=True)) == {fresh.pk, confirmed.pk}


def test_campaign_stuck_in_sending_is_found():
    stuck = NewsletterCampaignFactory(
        status=CampaignStatus.SENDING, send_started_at=timezone.now() - timedelta(hours=2)
    )
    NewsletterCampaignFactory(status=CampaignStatus.SENDING, send_started_at=timezone.now())
    assert list(CHECK["newsletter_campaigns"].find()) == [stuck]


def test_empty_old_conversations_are_deleted():
    empty = ChatConversationFactory()
    ChatConversation.objects.filter(pk=empty.pk).update(created_at=timezone.now() - timedelta(days=2))
    with_message = ChatMessageFactory().conversation
    ChatConversation.objects.filter(pk=with_message.pk).update(created_at=timezone.now() - timedelta(days=2))
    check = CHECK["chat_conversations"]
    assert check.fix(check.find()) == 1
    assert list(ChatConversation.objects.all()) == [with_message]


def test_cleanup_orphans_command_reports_content_checks():
    out = StringIO()
    call_command("cleanup_orphans", stdout=out)
    assert "content: content_approvals still pending" in out.getvalue()
    assert not ContentApproval.objects.exists()
