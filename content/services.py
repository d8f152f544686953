"""Writes for the public site: blog workflow, newsletter, campaigns, analytics, contact, careers, chat."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, ProtectedError, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from bloom.sanitize import BLOG, EMAIL, html_to_text, sanitize_html
from notifications import services as notification_services
from notifications.models import EmailQueue

from .models import (
    PUBLISH_PERMISSION,
    AnalyticsEvent,
    ApprovalDecision,
    BlogPost,
    BlogPostVersion,
    CampaignStatus,
    CareerApplication,
    ChatConversation,
    ChatMessage,
    ChatSender,
    ChatStatus,
    ContactStatus,
    ContactSubmission,
    ContentApproval,
    JobPosting,
    NewsletterCampaign,
    PostStatus,
    SegmentKind,
    Subscriber,
    SubscriberSegment,
    SubscriberSegmentMember,
    SubscriberStatus,
)
from .selectors import job_posting_is_open, segment_recipients
from .seo import seo_evaluate
from .validators import validate_cv

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# --- Blog posts and the approval workflow (docs/adr/0070) -------------------------------

SNAPSHOT_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "body",
    "cover_image_url",
    "seo_title",
    "meta_description",
    "canonical_url",
    "tags",
)


def can_publish(user) -> bool:
    return bool(user and user.is_active and user.has_perm(PUBLISH_PERMISSION))


def _snapshot(post: BlogPost) -> dict:
    data = {name: getattr(post, name) for name in SNAPSHOT_FIELDS}
    data["tags"] = list(data["tags"] or [])
    data["author_id"] = str(post.author_id) if post.author_id else None
    return data


def _lock_post(post: BlogPost) -> BlogPost:
    return BlogPost.all_objects.select_for_update().get(pk=post.pk)


def _latest_version_number(post: BlogPost) -> int:
    return post.versions.aggregate(n=Max("version_number"))["n"] or 0


@transaction.atomic
def blog_post_save(*, post: BlogPost, editor: User, note: str = "") -> BlogPost:
    """Save a staff member's edit of a post and write its next `blog_post_versions` snapshot.

    Guarantees: the body is sanitised and the SEO score recomputed; status, publication
    date and archive state never change through an edit (only workflow services move
    them); a published post can only be edited by someone who may publish; editing an
    approved post sends it back to draft (the approval was for other words). Locks the
    post row, so version numbers never collide.
    """
    post.body = sanitize_html(post.body, BLOG)
    post.excerpt = (post.excerpt or "").strip()
    post.tags = sorted({tag.strip().lower() for tag in post.tags or [] if tag.strip()})
    if post._state.adding:
        post.status, post.published_at, post.archived_at = PostStatus.DRAFT, None, None
        if post.author_id is None:
            post.author = getattr(editor, "admin_user", None)
    else:
        previous = _lock_post(post)
        post.status, post.published_at, post.archived_at = previous.status, previous.published_at, previous.archived_at
        changed = _snapshot(previous) != _snapshot(post)
        if changed and previous.status == PostStatus.PUBLISHED and not can_publish(editor):
            raise ApplicationError("This post is published: only staff who may publish can change it.")
        if changed and previous.status == PostStatus.APPROVED:
            post.status = PostStatus.DRAFT
            note = note or "Edited after approval: back to draft for a new review."
    post.seo_score = seo_evaluate(
        title=post.title, seo_title=post.seo_title, meta_description=post.meta_description, body=post.body
    ).score
    try:
        with transaction.atomic():
            post.save()
    except IntegrityError as exc:
        raise ApplicationError("Another post already uses this slug.") from exc
    BlogPostVersion.objects.create(
        post=post,
        version_number=_latest_version_number(post) + 1,
        snapshot=_snapshot(post),
        editor=editor,
        note=note[:200],
    )
    return post


@transaction.atomic
def blog_post_version_restore(*, version: BlogPostVersion, editor: User) -> BlogPost:
    """Put a post's editable fields back to an earlier snapshot, as a new version.

    The same rules as any edit apply (a published post needs a publisher).
    """
    post = _lock_post(version.post)
    for name in SNAPSHOT_FIELDS:
        if name in version.snapshot:
            setattr(post, name, version.snapshot[name])
    return blog_post_save(post=post, editor=editor, note=f"Restored version {version.version_number}.")


def _require_publisher(user, action: str) -> None:
    if not can_publish(user):
        raise ApplicationError(f"You need the publish permission to {action} posts.")


def _pending_approval(post: BlogPost) -> ContentApproval | None:
    return ContentApproval.objects.select_for_update().filter(post=post, decision=ApprovalDecision.PENDING).first()


@transaction.atomic
def blog_post_submit_for_review(*, post: BlogPost, user: User, comment: str = "") -> ContentApproval:
    """Move a draft to `in_review` and open its one pending `content_approvals` row."""
    post = _lock_post(post)
    if not user.has_perm("content.change_blogpost"):
        raise ApplicationError("You cannot edit blog posts.")
    if post.status != PostStatus.DRAFT:
        raise ApplicationError(f"Only drafts can be submitted for review; this post is {post.get_status_display()}.")
    approval = ContentApproval.objects.create(
        post=post, requested_by=user, comment=comment.strip(), version_number=_latest_version_number(post) or None
    )
    post.status = PostStatus.IN_REVIEW
    post.save(update_fields=["status", "updated_at"])
    return approval


def _decide(*, post: BlogPost, reviewer: User, decision: str, comment: str) -> ContentApproval:
    approval = _pending_approval(post) or ContentApproval(post=post)
    approval.reviewer = reviewer
    approval.decision = decision
    approval.decided_at = timezone.now()
    approval.version_number = _latest_version_number(post) or None
    if comment.strip():
        approval.comment = f"{approval.comment}\n\n{comment.strip()}".strip()
    approval.save()
    return approval


@transaction.atomic
def blog_post_approve(*, post: BlogPost, reviewer: User, comment: str = "") -> ContentApproval:
    """Approve a post in review (publishers only); it can then be published."""
    _require_publisher(reviewer, "approve")
    post = _lock_post(post)
    if post.status != PostStatus.IN_REVIEW:
        raise ApplicationError(f"Only posts in review can be approved; this post is {post.get_status_display()}.")
    approval = _decide(post=post, reviewer=reviewer, decision=ApprovalDecision.APPROVED, comment=comment)
    post.status = PostStatus.APPROVED
    post.save(update_fields=["status", "updated_at"])
    return approval


@transaction.atomic
def blog_post_request_changes(*, post: BlogPost, reviewer: User, comment: str) -> ContentApproval:
    """Send a post in review back to draft with the reviewer's comment (publishers only)."""
    _require_publisher(reviewer, "review")
    if not comment.strip():
        raise ApplicationError("Say what should change.")
    post = _lock_post(post)
    if post.status != PostStatus.IN_REVIEW:
        raise ApplicationError(f"Only posts in review can be sent back; this post is {post.get_status_display()}.")
    approval = _decide(post=post, reviewer=reviewer, decision=ApprovalDecision.CHANGES_REQUESTED, comment=comment)
    post.status = PostStatus.DRAFT
    post.save(update_fields=["status", "updated_at"])
    return approval


@transaction.atomic
def blog_post_publish(*, post: BlogPost, user: User) -> BlogPost:
    """Publish an approved post (publishers only). Idempotent for a published post; the
    first publication date is kept."""
    _require_publisher(user, "publish")
    post = _lock_post(post)
    if post.status == PostStatus.PUBLISHED:
        return post
    if post.status != PostStatus.APPROVED:
        raise ApplicationError(f"Only approved posts can be published; this post is {post.get_status_display()}.")
    post.status = PostStatus.PUBLISHED
    post.published_at = post.published_at or timezone.now()
    post.save(update_fields=["status", "published_at", "updated_at"])
    return post


@transaction.atomic
def blog_post_archive(*, post: BlogPost, user: User) -> BlogPost:
    """Take a post off the site (soft delete) and withdraw any open review. Idempotent.
    Archiving a published post needs the publish permission."""
    post = _lock_post(post)
    if post.archived_at is not None:
        return post
    if post.status == PostStatus.PUBLISHED:
        _require_publisher(user, "archive published")
    ContentApproval.objects.filter(post=post, decision=ApprovalDecision.PENDING).update(
        decision=ApprovalDecision.WITHDRAWN, decided_at=timezone.now(), reviewer=user
    )
    post.status = PostStatus.ARCHIVED
    post.archived_at = timezone.now()
    post.save(update_fields=["status", "archived_at", "updated_at"])
    return post


@transaction.atomic
def blog_post_restore(*, post: BlogPost, user: User) -> BlogPost:
    """Bring an archived post back as a draft (it needs a new review to be published)."""
    post = _lock_post(post)
    if post.archived_at is None and post.status != PostStatus.ARCHIVED:
        return post
    post.status = PostStatus.DRAFT
    post.archived_at = None
    post.save(update_fields=["status", "archived_at", "updated_at"])
    return post


def blog_post_delete(*, post: BlogPost) -> None:
    """Delete a post for good, refused while analytics rows point at it (seed 4C)."""
    referenced = AnalyticsEvent.objects.filter(blog_post=post).count()
    if referenced:
        raise ApplicationError(
            f"“{post.title}” is referenced by {referenced} analytics events and cannot be deleted; archive it instead."
        )
    try:
        with transaction.atomic():
            post.delete()
    except ProtectedError as exc:
        raise ApplicationError(f"“{post.title}” is still referenced; archive it instead.") from exc


def blog_post_view_record(*, post: BlogPost) -> None:
    """Count one view with a single `UPDATE ... SET view_count = view_count + 1`."""
    BlogPost.all_objects.filter(pk=post.pk).update(view_count=F("view_count") + 1)


# --- Newsletter subscribers ---------------------------------------------------------------

CONFIRM_SALT = "content.subscriber.confirm"
CONFIRM_MAX_AGE = timedelta(days=7)
CONFIRM_RESEND_AFTER = timedelta(minutes=10)


def subscriber_confirm_token(*, subscriber: Subscriber) -> str:
    return signing.dumps({"s": str(subscriber.id), "e": subscriber.email}, salt=CONFIRM_SALT, compress=True)


def subscriber_confirm_url(*, subscriber: Subscriber) -> str:
    path = reverse("content:newsletter_confirm", args=[subscriber_confirm_token(subscriber=subscriber)])
    return absolute_url(path)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


@transaction.atomic
def subscriber_subscribe(*, email: str, first_name: str = "", source: str = "") -> Subscriber:
    """Record a sign-up and queue the double opt-in email (transactional, high priority).

    A confirmed address is left alone and gets no email; others go (back) to pending.
    The confirmation is sent at most once per 10 minutes per address, so the form cannot
    be used to flood someone's inbox. The caller shows the same answer in every case.
    """
    email = normalize_email(email)
    subscriber, created = Subscriber.objects.select_for_update().get_or_create(
        email=email, defaults={"first_name": first_name.strip()[:150], "source": source[:64]}
    )
    if subscriber.status == SubscriberStatus.CONFIRMED:
        return subscriber
    now = timezone.now()
    if not created and subscriber.status == SubscriberStatus.PENDING:
        recently = subscriber.confirmation_sent_at and now - subscriber.confirmation_sent_at < CONFIRM_RESEND_AFTER
        if recently:
            return subscriber
    subscriber.status = SubscriberStatus.PENDING
    subscriber.first_name = subscriber.first_name or first_name.strip()[:150]
    subscriber.source = subscriber.source or source[:64]
    subscriber.confirmation_sent_at = now
    subscriber.save()
    notification_services.queue_email(
        to=subscriber.email,
        template="content/subscriber_confirm",
        context={"first_name": subscriber.first_name, "confirm_url": subscriber_confirm_url(subscriber=subscriber)},
        category=notification_services.EmailCategory.TRANSACTIONAL,
        priority=notification_services.EmailPriority.HIGH,
        idempotency_key=f"subscriber-confirm:{subscriber.id}:{int(now.timestamp())}",
    )
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    """Confirm the address a signed link was sent to and start the welcome sequence.

    Idempotent: a second click on the link changes nothing and triggers nothing. Only a
    pending subscriber is confirmed, so an old link cannot undo a later unsubscribe. A
    marketing suppression left by an earlier unsubscribe is lifted (fresh double opt-in);
    one from a complaint or bounce is not.
    """
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ApplicationError("This confirmation link has expired. Please sign up again for a new one.") from exc
    except signing.BadSignature as exc:
        raise ApplicationError("This confirmation link is not valid.") from exc
    subscriber = Subscriber.objects.select_for_update().filter(pk=data.get("s"), email=data.get("e")).first()
    if subscriber is None:
        raise ApplicationError("This confirmation link is not valid.")
    if subscriber.status == SubscriberStatus.CONFIRMED:
        return subscriber
    if subscriber.status != SubscriberStatus.PENDING:
        raise ApplicationError("This link is no longer valid. Please sign up again if you want the newsletter.")
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "updated_at"])
    _lift_unsubscribe_suppression(subscriber.email)
    notification_services.sequence_trigger(trigger="subscriber_confirmed", email=subscriber.email)
    return subscriber


def _lift_unsubscribe_suppression(email: str) -> None:
    """A confirmed re-subscription is fresh consent: lift an earlier marketing unsubscribe.

    Complaints and bounces stay suppressed (staff decide about those in notifications' admin).
    """
    suppression = notification_services.suppression_for(email)
    if (
        suppression is not None
        and suppression.reason == suppression.Reason.UNSUBSCRIBE
        and suppression.scope == suppression.Scope.MARKETING
    ):
        notification_services.suppression_remove(suppression=suppression)


_REASON_STATUS = (
    ("complain", SubscriberStatus.COMPLAINED),
    ("spam", SubscriberStatus.COMPLAINED),
    ("bounce", SubscriberStatus.BOUNCED),
)


def subscriber_unsubscribe(*, email: str, reason: str = "") -> int:
    """Mark the subscriber with this address unsubscribed (or bounced / complained, from the
    reason). Registered with notifications as its unsubscribe handler.

    Idempotent: the first `unsubscribed_at` is kept, and a plain unsubscribe never
    overwrites a recorded bounce or complaint. Unknown addresses are ignored.
    """
    reason_text = (reason or "").lower()
    status = next((s for word, s in _REASON_STATUS if word in reason_text), SubscriberStatus.UNSUBSCRIBED)
    now = timezone.now()
    queryset = Subscriber.objects.annotate(email_lower=Lower("email")).filter(email_lower=normalize_email(email))
    if status == SubscriberStatus.UNSUBSCRIBED:
        queryset = queryset.exclude(status__in=[SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED])
    changed = queryset.exclude(status=status).update(status=status, updated_at=now)
    queryset.filter(unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    return changed


ENGAGEMENT_WINDOW = timedelta(days=90)


def subscriber_engagement_recompute(*, now=None) -> int:
    """Recompute every subscriber's engagement score (0-100) from `email_campaign_metrics`.

    Score = (opens + 2 x clicks) / (3 x emails sent) over the last 90 days; no email sent
    in the window scores 0. Reads notifications' metrics by model name; returns how many
    subscribers changed (0 when notifications has no metrics table).
    """
    try:
        metric_model = apps.get_model("notifications", "EmailCampaignMetric")
    except LookupError:
        logger.info("notifications.EmailCampaignMetric does not exist; engagement scores left as they are")
        return 0
    now = now or timezone.now()
    stats = defaultdict(lambda: {"sent": 0, "opened": 0, "clicked": 0})
    rows = (
        metric_model.objects.filter(sent_at__gte=now - ENGAGEMENT_WINDOW)
        .annotate(address=Lower("recipient_email"))
        .values("address")
        .annotate(
            sent=Count("id"),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
    )
    for row in rows:
        stats[row["address"]] = row
    changed = []
    for subscriber in Subscriber.objects.only("id", "email", "engagement_score").iterator(chunk_size=2000):
        row = stats.get(subscriber.email.lower())
        score = 0
        if row and row["sent"]:
            score = min(100, round(100 * (row["opened"] + 2 * row["clicked"]) / (3 * row["sent"])))
        if score != subscriber.engagement_score:
            subscriber.engagement_score = score
            changed.append(subscriber)
    with transaction.atomic():
        Subscriber.objects.bulk_update(changed, ["engagement_score"], batch_size=1000)
        Subscriber.objects.update(engagement_computed_at=now)
    return len(changed)


# --- Segments -------------------------------------------------------------------------------

RULE_KEYS = {"sources", "min_engagement_score", "confirmed_within_days"}


def segment_rule_validate(rule: dict) -> dict:
    """Return a cleaned segment rule or raise ValidationError naming the problem."""
    if not isinstance(rule, dict):
        raise ValidationError("The rule must be a JSON object.")
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ValidationError(f"Unknown rule keys: {', '.join(sorted(unknown))}. Use {', '.join(sorted(RULE_KEYS))}.")
    cleaned = {}
    if "sources" in rule:
        sources = rule["sources"]
        if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
            raise ValidationError('"sources" must be a list of source names.')
        cleaned["sources"] = sources
    for key, upper in (("min_engagement_score", 100), ("confirmed_within_days", 3650)):
        if key in rule:
            value = rule[key]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= upper:
                raise ValidationError(f'"{key}" must be a whole number from 0 to {upper}.')
            cleaned[key] = value
    return cleaned


@transaction.atomic
def segment_members_add(*, segment: SubscriberSegment, subscribers, added_by: User | None = None) -> int:
    """Add subscribers to a manual segment; those already in it are skipped. Returns how many joined."""
    if segment.kind != SegmentKind.MANUAL:
        raise ApplicationError(f"“{segment.name}” is a rule segment: its members follow its rule.")
    ids = [s.pk for s in subscribers]
    existing = set(segment.memberships.filter(subscriber_id__in=ids).values_list("subscriber_id", flat=True))
    new = [
        SubscriberSegmentMember(segment=segment, subscriber_id=pk, added_by=added_by)
        for pk in ids
        if pk not in existing
    ]
    SubscriberSegmentMember.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def segment_members_remove(*, segment: SubscriberSegment, subscribers) -> int:
    """Take subscribers out of a manual segment. Returns how many left."""
    return segment.memberships.filter(subscriber_id__in=[s.pk for s in subscribers]).delete()[0]


# --- Newsletter campaigns (docs/adr/0072) -------------------------------------------------

CAMPAIGN_BATCH_SIZE = 500


@transaction.atomic
def campaign_save(*, campaign: NewsletterCampaign, user: User) -> NewsletterCampaign:
    """Save a draft or scheduled campaign: body sanitised; a send time makes it scheduled,
    clearing it makes it a draft again. Sending, sent and cancelled campaigns are frozen."""
    if not campaign._state.adding:
        status = NewsletterCampaign.objects.select_for_update().values_list("status", flat=True).get(pk=campaign.pk)
        if status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise ApplicationError("This campaign has been sent or cancelled and can no longer change.")
        campaign.status = status
    else:
        campaign.created_by = campaign.created_by or user
    campaign.body_html = sanitize_html(campaign.body_html, EMAIL)
    campaign.status = CampaignStatus.SCHEDULED if campaign.scheduled_at else CampaignStatus.DRAFT
    campaign.save()
    return campaign


@transaction.atomic
def campaign_send_start(*, campaign: NewsletterCampaign) -> NewsletterCampaign:
    """Mark a draft or scheduled campaign as sending and enqueue `campaign_send_task` after commit.

    Idempotent for a campaign already sending (the task is enqueued again, which is safe).
    """
    from bloom.tasks import enqueue

    from .tasks import campaign_send_task

    campaign = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
        raise ApplicationError(f"This campaign is {campaign.get_status_display().lower()} and cannot be sent.")
    if campaign.status != CampaignStatus.SENDING:
        campaign.status = CampaignStatus.SENDING
        campaign.send_started_at = timezone.now()
        campaign.save(update_fields=["status", "send_started_at", "updated_at"])
    campaign_id = str(campaign.pk)
    enqueue(campaign_send_task, campaign_id)
    return campaign


def _campaign_context(campaign: NewsletterCampaign, first_name: str) -> dict:
    body_html = sanitize_html(campaign.body_html, EMAIL)
    return {
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "first_name": first_name,
        "campaign_id": str(campaign.pk),
    }


def campaign_send(*, campaign: NewsletterCampaign, batch_size: int = CAMPAIGN_BATCH_SIZE) -> int:
    """Queue one marketing email per confirmed subscriber of the campaign's segment.

    Works in batches of `batch_size` subscribers, each in its own transaction that locks
    the campaign row. Idempotent: every email carries the key `campaign:<id>:<subscriber>`,
    so a re-run (retried task, lost worker) queues only what is missing and
    `recipients_count` counts each subscriber once. Suppressed addresses are refused by
    `queue_email` itself. Stops between batches if the campaign was cancelled; marks it
    sent after the last batch. Returns how many emails this run queued.
    """
    recipients = segment_recipients(segment=campaign.segment).only("id", "email", "first_name").order_by("id")
    queued = 0
    last_id = None
    while True:
        with transaction.atomic():
            locked = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
            if locked.status != CampaignStatus.SENDING:
                return queued
            page = recipients if last_id is None else recipients.filter(id__gt=last_id)
            batch = list(page[:batch_size])
            if not batch:
                locked.status = CampaignStatus.SENT
                locked.sent_at = timezone.now()
                locked.save(update_fields=["status", "sent_at", "updated_at"])
                return queued
            keys = {subscriber.pk: f"campaign:{locked.pk}:{subscriber.pk}" for subscriber in batch}
            # One query finds what a previous run already queued, so a resumed send skips it cheaply.
            done = set(
                EmailQueue.objects.filter(idempotency_key__in=keys.values()).values_list("idempotency_key", flat=True)
            )
            new = 0
            for subscriber in batch:
                if keys[subscriber.pk] in done:
                    continue
                row = notification_services.queue_email(
                    to=subscriber.email,
                    template="content/newsletter",
                    context=_campaign_context(locked, subscriber.first_name),
                    category=notification_services.EmailCategory.MARKETING,
                    priority=notification_services.EmailPriority.LOW,
                    idempotency_key=keys[subscriber.pk],
                    campaign_id=locked.pk,
                )
                new += row is not None
            if new:
                NewsletterCampaign.objects.filter(pk=locked.pk).update(recipients_count=F("recipients_count") + new)
            queued += new
            last_id = batch[-1].pk


def campaign_test_send(*, campaign: NewsletterCampaign, user: User):
    """Queue the campaign once to the staff member asking (transactional, so their own
    marketing preferences do not block it). Not counted as a recipient."""
    context = _campaign_context(campaign, user.first_name)
    context["subject"] = f"[Test] {campaign.subject}"
    return notification_services.queue_email(
        to=user.email,
        template="content/newsletter",
        context=context,
        user=user,
        category=notification_services.EmailCategory.TRANSACTIONAL,
        priority=notification_services.EmailPriority.HIGH,
    )


@transaction.atomic
def campaign_cancel(*, campaign: NewsletterCampaign) -> NewsletterCampaign:
    """Cancel a draft, scheduled or sending campaign; a sending one stops before its next batch."""
    campaign = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
        raise ApplicationError(f"This campaign is already {campaign.get_status_display().lower()}.")
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def campaign_send_due(*, now=None) -> int:
    """Start every scheduled campaign whose time has come (beat, every minute)."""
    now = now or timezone.now()
    started = 0
    due = NewsletterCampaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    for campaign in due.only("id"):
        try:
            campaign_send_start(campaign=campaign)
            started += 1
        except ApplicationError:
            continue
    return started


# --- Analytics ------------------------------------------------------------------------------


def analytics_event_record(
    *,
    event_name: str,
    category: str,
    session_id: str = "",
    user: User | None = None,
    path: str = "",
    referrer: str = "",
    properties: dict | None = None,
    blog_post: BlogPost | None = None,
) -> AnalyticsEvent:
    """Store one analytics event (inputs already validated by the caller)."""
    return AnalyticsEvent.objects.create(
        event_name=event_name,
        category=category,
        session_id=session_id,
        user=user if user is not None and user.is_authenticated else None,
        path=path[:500],
        referrer=referrer[:500],
        properties=properties or {},
        blog_post=blog_post,
    )


# --- Contact form ---------------------------------------------------------------------------


def _admin_url(obj) -> str:
    path = reverse(f"admin:content_{obj._meta.model_name}_change", args=[obj.pk])
    return absolute_url(path)


@transaction.atomic
def contact_submission_create(
    *, name: str, email: str, message: str, phone: str = "", subject: str = "", ip_address: str | None = None
) -> ContactSubmission:
    """Store a contact-form message and queue a staff alert in the same transaction.

    The alert names the sender and links to the back office but never carries the
    message itself (it may hold health information; the row is encrypted, email is not).
    """
    submission = ContactSubmission.objects.create(
        name=name.strip(),
        email=normalize_email(email),
        phone=phone.strip(),
        subject=subject.strip(),
        message=message.strip(),
        ip_address=ip_address,
    )
    notification_services.queue_email(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="content/contact_alert",
        context={"name": submission.name, "subject": submission.subject, "admin_url": _admin_url(submission)},
        category=notification_services.EmailCategory.TRANSACTIONAL,
        priority=notification_services.EmailPriority.HIGH,
        idempotency_key=f"contact-alert:{submission.pk}",
    )
    return submission


@transaction.atomic
def contact_submission_status_set(*, submission: ContactSubmission, status: str, user: User) -> ContactSubmission:
    """Move a contact message to new / in progress / closed, recording who handled it."""
    submission = ContactSubmission.objects.select_for_update().get(pk=submission.pk)
    submission.status = status
    submission.handled_by = user
    submission.closed_at = timezone.now() if status == ContactStatus.CLOSED else None
    submission.save(update_fields=["status", "handled_by", "closed_at", "updated_at"])
    return submission


# --- Careers --------------------------------------------------------------------------------


@transaction.atomic
def career_application_submit(
    *,
    job_posting: JobPosting,
    full_name: str,
    email: str,
    cv,
    phone: str = "",
    cover_letter: str = "",
    ip_address: str | None = None,
) -> CareerApplication:
    """Store an application and its CV (PDF/DOCX under 5 MB, checked by content) for an
    open posting, and queue an alert to the hiring inbox without the CV attached."""
    if not job_posting_is_open(job_posting=job_posting):
        raise ApplicationError("This role is no longer open for applications.")
    validate_cv(cv)
    application = CareerApplication(
        job_posting=job_posting,
        full_name=full_name.strip(),
        email=normalize_email(email),
        phone=phone.strip(),
        cover_letter=cover_letter.strip(),
        cv_original_name=(getattr(cv, "name", "") or "")[-255:],
        ip_address=ip_address,
    )
    application.cv = cv
    application.save()
    notification_services.queue_email(
        to=settings.BLOOM_CAREERS_ALERT_EMAIL,
        template="content/career_application_alert",
        context={
            "full_name": application.full_name,
            "job_title": job_posting.title,
            "admin_url": _admin_url(application),
        },
        category=notification_services.EmailCategory.TRANSACTIONAL,
        idempotency_key=f"career-alert:{application.pk}",
    )
    return application


# --- Support chat ---------------------------------------------------------------------------


@transaction.atomic
def chat_message_post(
    *, conversation: ChatConversation, sender: str, body: str, staff_user: User | None = None
) -> ChatMessage:
    """Add a message to a conversation and keep its status and last-message time current:
    a staff reply leaves it waiting for the visitor, a visitor message reopens it."""
    if not body.strip():
        raise ApplicationError("A message cannot be empty.")
    conversation = ChatConversation.objects.select_for_update().get(pk=conversation.pk)
    message = ChatMessage.objects.create(
        conversation=conversation,
        sender=sender,
        body=body.strip(),
        staff_user=staff_user if sender == ChatSender.STAFF else None,
    )
    conversation.last_message_at = message.created_at
    if sender == ChatSender.STAFF:
        conversation.status = ChatStatus.WAITING
        conversation.assigned_to = conversation.assigned_to or staff_user
    elif sender == ChatSender.VISITOR:
        conversation.status = ChatStatus.OPEN
        conversation.closed_at = None
    conversation.save(update_fields=["last_message_at", "status", "assigned_to", "closed_at", "updated_at"])
    return message


def chat_conversation_close(*, conversation: ChatConversation) -> int:
    """Close a conversation. Idempotent; returns 1 if it was open."""
    return (
        ChatConversation.objects.filter(pk=conversation.pk)
        .exclude(status=ChatStatus.CLOSED)
        .update(status=ChatStatus.CLOSED, closed_at=timezone.now(), updated_at=timezone.now())
    )
