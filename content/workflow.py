"""Blog posts and newsletter campaigns in the approval workflow (bloom/workflow.py, docs/content.md)."""

from __future__ import annotations

from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.workflow import WorkflowKind
from bloom.workflow_models import WorkflowState

from .models import ApprovalDecision, BlogPost, CampaignStatus, NewsletterCampaign, PostStatus
from .services.blog import content_approval_close, content_approval_open
from .services.campaigns import campaign_send_start

# The post's own status for each workflow state short of published (scheduled is approved).
_POST_STATUS = {
    WorkflowState.DRAFT: PostStatus.DRAFT,
    WorkflowState.IN_REVIEW: PostStatus.IN_REVIEW,
    WorkflowState.APPROVED: PostStatus.APPROVED,
    WorkflowState.SCHEDULED: PostStatus.APPROVED,
}


def _post_set(post: BlogPost, status: str) -> None:
    post = BlogPost.all_objects.select_for_update().get(pk=post.pk)
    if post.archived_at is not None:
        raise ApplicationError("This post is archived: restore it before publishing it.")
    post.status = status
    if status == PostStatus.PUBLISHED:
        post.published_at = post.published_at or timezone.now()
    post.save(update_fields=["status", "published_at", "updated_at"])


def _post_author(post: BlogPost):
    return getattr(post.author, "user", None) if post.author_id else None


# A review closed by the workflow: in review -> approved, or back to draft with the reviewer's comment.
_DECISIONS = {
    WorkflowState.APPROVED: ApprovalDecision.APPROVED,
    WorkflowState.DRAFT: ApprovalDecision.CHANGES_REQUESTED,
}


def _post_review_record(post: BlogPost, from_state: str, to_state: str, actor, comment: str) -> None:
    """Keep the post's `content_approvals` rows (one per review: who asked, who decided, which
    version) in step with the workflow, so the change page's review history stays whole."""
    if to_state == WorkflowState.IN_REVIEW:
        content_approval_open(post=post, requested_by=actor, comment=comment)
    elif from_state == WorkflowState.IN_REVIEW and to_state in _DECISIONS:
        content_approval_close(post=post, reviewer=actor, decision=_DECISIONS[to_state], comment=comment)


def _campaign_unpublish(campaign: NewsletterCampaign) -> None:
    raise ApplicationError("A campaign that has been sent cannot be taken back.")


BLOG_POST = WorkflowKind(
    model=BlogPost,
    noun="post",
    publish=lambda post: _post_set(post, PostStatus.PUBLISHED),
    unpublish=lambda post: _post_set(post, PostStatus.DRAFT),
    is_live=lambda post: post.is_published,
    on_state=lambda post, state: _post_set(post, _POST_STATUS[state]),
    author=_post_author,
    on_event=_post_review_record,
)
# Publishing a campaign starts sending it (refused for an empty audience, docs/adr/0242).
CAMPAIGN = WorkflowKind(
    model=NewsletterCampaign,
    noun="campaign",
    publish=lambda campaign: campaign_send_start(campaign=campaign),
    unpublish=_campaign_unpublish,
    is_live=lambda campaign: campaign.status in (CampaignStatus.SENDING, CampaignStatus.SENT),
)
