import uuid
from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from content import selectors
from content.models import PostStatus, SegmentKind, SubscriberStatus
from tests.factories.content import (
    BlogPostFactory,
    JobPostingFactory,
    SubscriberFactory,
    SubscriberSegmentFactory,
    SubscriberSegmentMemberFactory,
)

pytestmark = pytest.mark.django_db


def test_marketing_consent_lookup():
    SubscriberFactory(email="yes@example.org")
    SubscriberFactory(email="no@example.org", status=SubscriberStatus.UNSUBSCRIBED)
    SubscriberFactory(email="bounced@example.org", status=SubscriberStatus.BOUNCED)
    SubscriberFactory(email="waiting@example.org", status=SubscriberStatus.PENDING)
    assert selectors.subscriber_marketing_consent(email="YES@example.org") is True
    assert selectors.subscriber_marketing_consent(email="no@example.org") is False
    assert selectors.subscriber_marketing_consent(email="bounced@example.org") is False
    assert selectors.subscriber_marketing_consent(email="waiting@example.org") is None
    assert selectors.subscriber_marketing_consent(email="stranger@example.org") is None


def test_segment_recipients_manual_and_rule():
    manual = SubscriberSegmentFactory()
    member = SubscriberSegmentMemberFactory(segment=manual).subscriber
    SubscriberSegmentMemberFactory(segment=manual, subscriber=SubscriberFactory(status=SubscriberStatus.UNSUBSCRIBED))
    outsider = SubscriberFactory()
    assert list(selectors.segment_recipient_list(segment=manual)) == [member]
    rule = SubscriberSegmentFactory(kind=SegmentKind.RULE, rule={"sources": ["blog"], "min_engagement_score": 50})
    match = SubscriberFactory(source="blog", engagement_score=70)
    SubscriberFactory(source="blog", engagement_score=10)
    SubscriberFactory(source="footer", engagement_score=90)
    assert list(selectors.segment_recipient_list(segment=rule)) == [match]
    assert set(selectors.segment_recipient_list(segment=None)) >= {member, outsider, match}


def test_user_is_publisher_needs_the_publish_permission_and_an_active_account(editor, publisher):
    assert selectors.user_is_publisher(user=publisher) is True
    assert selectors.user_is_publisher(user=editor) is False
    assert selectors.user_is_publisher(user=None) is False
    publisher.is_active = False
    assert selectors.user_is_publisher(user=publisher) is False


def test_published_posts_newest_first_without_drafts_or_archived():
    older = BlogPostFactory(published=True, published_at=timezone.now() - timedelta(days=2))
    newer = BlogPostFactory(published=True)
    BlogPostFactory()
    BlogPostFactory(published=True, archived_at=timezone.now())
    assert list(selectors.blog_post_list_published()) == [newer, older]
    assert selectors.blog_post_list_latest(limit=1) == [newer]


def test_get_published_hides_drafts_but_staff_preview_finds_archived_posts():
    live = BlogPostFactory(published=True)
    draft = BlogPostFactory()
    archived = BlogPostFactory(status=PostStatus.ARCHIVED, archived_at=timezone.now())
    assert selectors.blog_post_get_published(slug=live.slug) == live
    with pytest.raises(Http404):
        selectors.blog_post_get_published(slug=draft.slug)
    assert selectors.blog_post_get_for_staff(slug=archived.slug) == archived
    with pytest.raises(Http404):
        selectors.blog_post_get_for_staff(slug="no-such-post")


def test_open_job_postings_leave_out_closed_and_past_their_closing_date():
    open_now = JobPostingFactory(closes_at=timezone.now() + timedelta(days=3))
    closed = JobPostingFactory(is_open=False)
    past = JobPostingFactory(closes_at=timezone.now() - timedelta(minutes=1))
    assert list(selectors.job_posting_list_open()) == [open_now]
    assert selectors.job_posting_get_open(slug=open_now.slug) == open_now
    with pytest.raises(Http404):
        selectors.job_posting_get_open(slug=past.slug)
    assert selectors.job_posting_is_open(job_posting=open_now) is True
    assert selectors.job_posting_is_open(job_posting=closed) is False
    assert selectors.job_posting_is_open(job_posting=past) is False


def test_blog_post_get_by_id_finds_archived_posts_and_answers_none_for_an_unknown_id():
    post = BlogPostFactory(published=True)
    post.archive()

    assert selectors.blog_post_get_by_id(post_id=post.pk) == post
    assert selectors.blog_post_get_by_id(post_id=uuid.uuid4()) is None
