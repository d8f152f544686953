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
