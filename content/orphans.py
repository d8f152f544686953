"""Orphaned and stuck content rows (seed section 4C), reported by `manage.py cleanup_orphans`."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from bloom.orphans import OrphanCheck

from .models import (
    ApprovalDecision,
    CampaignStatus,
    ChatConversation,
    ContentApproval,
    NewsletterCampaign,
    PostStatus,
    Subscriber,
    SubscriberStatus,
)
from .services import CONFIRM_MAX_AGE, campaign_send_start

STUCK_SENDING_AFTER = timedelta(hours=1)


def _open_reviews_of_posts_not_in_review():
    return ContentApproval.objects.filter(decision=ApprovalDecision.PENDING).exclude(post__status=PostStatus.IN_REVIEW)


def _withdraw(queryset) -> int:
    return queryset.update(decision=ApprovalDecision.WITHDRAWN, decided_at=timezone.now())


def _expired_pending_subscribers():
    cutoff = timezone.now() - CONFIRM_MAX_AGE - timedelta(days=1)
    return Subscriber.objects.filter(status=SubscriberStatus.PENDING).filter(
        Q(confirmation_sent_at__lt=cutoff) | Q(confirmation_sent_at__isnull=True, created_at__lt=cutoff)
    )


def _stuck_campaigns():
    return NewsletterCampaign.objects.filter(
        status=CampaignStatus.SENDING, send_started_at__lt=timezone.now() - STUCK_SENDING_AFTER
    )


def _resume(queryset) -> int:
    campaigns = list(queryset)
    for campaign in campaigns:
        campaign_send_start(campaign=campaign)
    return len(campaigns)


def _empty_old_conversations():
    return ChatConversation.objects.filter(messages__isnull=True, created_at__lt=timezone.now() - timedelta(days=1))


CHECKS = [
    OrphanCheck(
        name="content_approvals still pending for posts no longer in review",
        find=_open_reviews_of_posts_not_in_review,
        fix=_withdraw,
        fix_description="mark the reviews withdrawn",
    ),
    OrphanCheck(
        name="subscribers still pending after their confirmation link expired",
        find=_expired_pending_subscribers,
        fix=lambda qs: qs.delete()[1].get("content.Subscriber", 0),
        fix_description="delete the unconfirmed sign-ups (no consent was given)",
    ),
    OrphanCheck(
        name="newsletter_campaigns stuck in sending for over an hour",
        find=_stuck_campaigns,
        fix=_resume,
        fix_description="re-enqueue the send (idempotent: nobody gets it twice)",
    ),
    OrphanCheck(
        name="chat_conversations without any message after a day",
        find=_empty_old_conversations,
        fix=lambda qs: (
            ChatConversation.objects.filter(pk__in=list(qs.values_list("pk", flat=True)))
            .delete()[1]
            .get("content.ChatConversation", 0)
        ),
        fix_description="delete the empty conversations",
    ),
]
