from io import StringIO

import pytest

from content import demo
from content.models import BlogPost, JobPosting, PostStatus, SubscriberSegment

pytestmark = pytest.mark.django_db


def test_demo_seed_publishes_three_reviewed_posts_and_is_idempotent(superuser):
    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    posts = BlogPost.objects.filter(status=PostStatus.PUBLISHED)
    assert posts.count() == 3
    for post in posts:
        assert post.approvals.get().reviewer == superuser
        assert post.seo_score >= 75
        assert "<script" not in post.body
    assert JobPosting.objects.count() == 1
    assert SubscriberSegment.objects.get().kind == "rule"


def test_demo_seed_without_a_superuser_skips_posts():
    out = StringIO()
    demo.seed(stdout=out)
    assert BlogPost.all_objects.count() == 0
    assert "no superuser" in out.getvalue()


def test_demo_seed_sends_one_campaign_with_opens_and_clicks(superuser):
    from content.models import CampaignStatus, NewsletterCampaign
    from notifications.models import EmailQueue
    from notifications.selectors import campaign_metrics_summary

    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    campaign = NewsletterCampaign.objects.get()
    assert campaign.status == CampaignStatus.SENT and campaign.recipients_count == 10
    report = campaign_metrics_summary(campaign_id=campaign.pk)
    assert (report["sent"], report["opened"], report["clicked"]) == (10, 7, 4)
    assert len(report["series"]) == 3
    rows = EmailQueue.objects.filter(campaign_id=campaign.pk)
    assert not rows.exclude(status="sent").exists()
    assert "{{" not in rows.first().html_body


def test_demo_puts_the_editors_draft_in_the_review_queue_once(superuser):
    from accounts import demo as accounts_demo
    from bloom.workflow import content_workflow_state_get
    from bloom.workflow_models import WorkflowState
    from content.models import ApprovalDecision

    accounts_demo.seed(stdout=StringIO())
    out = StringIO()
    demo.seed(stdout=out)
    demo.seed(stdout=StringIO())
    post = BlogPost.all_objects.get(slug=demo.IN_REVIEW_POST["slug"])
    assert post.status == PostStatus.IN_REVIEW and sorted(post.tags) == ["feelings", "return", "work"]
    state = content_workflow_state_get(obj=post)
    assert (state.state, state.submitted_by.email) == (WorkflowState.IN_REVIEW, "editor@bloom.test")
    assert post.approvals.get().decision == ApprovalDecision.PENDING
    assert "1 in the review queue" in out.getvalue()


def test_demo_subscribers_signed_up_before_they_confirmed_and_before_the_campaign(superuser):
    from content.models import NewsletterCampaign, Subscriber

    demo.seed(stdout=StringIO())
    sent_at = NewsletterCampaign.objects.get().sent_at
    readers = Subscriber.objects.filter(source="demo")
    assert readers.count() == 10
    for reader in readers:
        assert reader.created_at < reader.confirmed_at < sent_at
