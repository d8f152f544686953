"""Reads for the public site and for notifications' consent checks."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from bloom.cache import kept
from bloom.text import normalize_email

from .models import (
    PUBLISH_PERMISSION,
    BlogPost,
    JobPosting,
    SegmentKind,
    Subscriber,
    SubscriberSegment,
    SubscriberStatus,
)

BLOG_PAGE_SIZE = 9


def user_is_publisher(*, user) -> bool:
    """Whether this staff user may approve, publish and archive published blog posts."""
    return bool(user and user.is_active and user.has_perm(PUBLISH_PERMISSION))


def blog_post_list_published() -> QuerySet[BlogPost]:
    """Published posts, newest first, with their author (one query per page)."""
    return (
        BlogPost.objects.published()
        .select_related("author")
        .defer("body", "seo_title", "meta_description", "canonical_url")
        .order_by("-published_at", "-created_at")
    )


def blog_post_get_published(*, slug: str) -> BlogPost:
    """The published post with this slug, else 404 (drafts and archived posts are not public)."""
    post = BlogPost.objects.published().select_related("author").filter(slug=slug).first()
    if post is None:
        raise Http404("No such post.")
    return post


def blog_post_get_for_staff(*, slug: str) -> BlogPost:
    """Any post, archived included, for a staff preview."""
    post = BlogPost.all_objects.select_related("author").filter(slug=slug).first()
    if post is None:
        raise Http404("No such post.")
    return post


def blog_post_get_by_id(*, post_id: uuid.UUID) -> BlogPost | None:
    """Any post by its id, archived included (an analytics event names the post it was read on)."""
    return BlogPost.all_objects.filter(pk=post_id).first()


LATEST_POSTS_CACHE_KEY = "content:blog:latest:v1:{limit}"
LATEST_POSTS_CACHE_SECONDS = 300  # a post scheduled for a time appears on dashboards within this


def blog_post_list_latest(*, limit: int = 3) -> list[BlogPost]:
    """The newest published posts for every member's dashboard: kept in the cache, which
    `blog_post_latest_forget` clears whenever a post is saved or deleted (content/apps.py).
    While Redis is away each call is one query, as before the cache."""
    return kept(
        LATEST_POSTS_CACHE_KEY.format(limit=limit),
        lambda: list(blog_post_list_published().defer("excerpt")[:limit]),
        LATEST_POSTS_CACHE_SECONDS,
    )


def blog_post_latest_forget(**_signal) -> None:
    """Drop the cached newest posts (a `post_save`/`post_delete` receiver for BlogPost)."""
    cache.delete_many([LATEST_POSTS_CACHE_KEY.format(limit=limit) for limit in range(1, 11)])


def subscriber_marketing_consent(*, email: str) -> bool | None:
    """True for a confirmed subscriber, False for one who unsubscribed, bounced or
    complained, None when the address is unknown or not confirmed yet.

    Registered with notifications as its marketing-consent lookup.
    """
    status = (
        Subscriber.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=normalize_email(email))
        .values_list("status", flat=True)
        .first()
    )
    if status == SubscriberStatus.CONFIRMED:
        return True
    if status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
        return False
    return None


def subscriber_marketing_consent_many(*, emails: list[str]) -> dict[str, bool]:
    """`subscriber_marketing_consent` for many normalised addresses in one query: True for
    confirmed subscribers, False for unsubscribed, bounced or complained ones; addresses
    unknown or not confirmed yet are left out.

    Registered with notifications as the set-based twin of its marketing-consent lookup.
    """
    if not emails:
        return {}
    answers: dict[str, bool] = {}
    rows = (
        Subscriber.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .order_by("pk")
        .values_list("email_lower", "status")
    )
    refused = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)
    for email, status in rows:
        if email in answers:
            continue  # the first row, as `.first()` answers one address
        if status == SubscriberStatus.CONFIRMED:
            answers[email] = True
        elif status in refused:
            answers[email] = False
    return answers


def segment_recipient_list(*, segment: SubscriberSegment | None) -> QuerySet[Subscriber]:
    """Confirmed subscribers a campaign to `segment` reaches (None: every confirmed subscriber).

    A manual segment means its hand-picked members; a rule segment means every confirmed
    subscriber matching all of its rule's conditions.
    """
    queryset = Subscriber.objects.filter(status=SubscriberStatus.CONFIRMED)
    if segment is None:
        return queryset
    if segment.kind == SegmentKind.MANUAL:
        return queryset.filter(memberships__segment=segment)
    rule = segment.rule or {}
    condition = Q()
    if rule.get("sources"):
        condition &= Q(source__in=rule["sources"])
    if rule.get("min_engagement_score") is not None:
        condition &= Q(engagement_score__gte=rule["min_engagement_score"])
    if rule.get("confirmed_within_days") is not None:
        condition &= Q(confirmed_at__gte=timezone.now() - timedelta(days=rule["confirmed_within_days"]))
    return queryset.filter(condition)


def job_posting_is_open(*, job_posting: JobPosting) -> bool:
    if job_posting.archived_at is not None or not job_posting.is_open:
        return False
    return job_posting.closes_at is None or job_posting.closes_at > timezone.now()


def job_posting_list_open() -> QuerySet[JobPosting]:
    """Postings people can apply to now, by title."""
    return (
        JobPosting.objects.filter(is_open=True)
        .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=timezone.now()))
        .defer("description")
    )


def job_posting_get_open(*, slug: str) -> JobPosting:
    posting = job_posting_list_open().defer(None).filter(slug=slug).first()
    if posting is None:
        raise Http404("This role is not open.")
    return posting


from .chat_selectors import (  # noqa: E402, F401 - chat reads live in their own module
    chat_conversation_get_for_member,
    chat_conversation_list_for_member,
    chat_message_list,
)
