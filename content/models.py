"""The public site: blog, newsletter, analytics, contact form, careers and support chat."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from bloom.crypto import EncryptedTextField, encrypted_file_storage
from bloom.fields import (
    choice_constraint,
    choice_field,
    ip_address_field,
    optional_user_fk,
    search_index,
)
from bloom.models import SoftDeleteModel, TimeStampedModel, UUIDModel, created_at_field

# --- Blog -------------------------------------------------------------------------------


class PostStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


PUBLISH_PERMISSION = "content.publish_blogpost"


class BlogPostQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PostStatus.PUBLISHED, archived_at__isnull=True)


class ActiveBlogPostManager(models.Manager.from_queryset(BlogPostQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(archived_at__isnull=True)


class BlogPost(TimeStampedModel, SoftDeleteModel):
    """A blog article on the public site, moving from draft through review to published.

    The body is HTML sanitised with nh3 on every staff save and again when rendered.
    Archived posts (`archived_at`) stay in the table because analytics rows point at them.
    """

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    excerpt = models.TextField(blank=True, default="")
    body = models.TextField(blank=True, default="", help_text="HTML; unsafe markup is removed on save.")
    cover_image_url = models.URLField(max_length=500, blank=True, default="")
    status = choice_field(PostStatus, max_length=20, default=PostStatus.DRAFT, db_default=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Seed 4A: author_id UUID REFERENCES admin_users(id).
    author = models.ForeignKey(
        "accounts.AdminUser", on_delete=models.SET_NULL, null=True, blank=True, related_name="blog_posts"
    )
    seo_title = models.CharField(max_length=200, blank=True, default="")
    meta_description = models.TextField(blank=True, default="")
    canonical_url = models.URLField(max_length=500, blank=True, default="")
    seo_score = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    view_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    tags = ArrayField(models.TextField(), default=list, blank=True)

    objects = ActiveBlogPostManager()
    all_objects = models.Manager.from_queryset(BlogPostQuerySet)()

    class Meta(SoftDeleteModel.Meta):
        db_table = "blog_posts"
        ordering = ["-published_at", "-created_at"]
        permissions = [("publish_blogpost", "Can approve and publish blog posts")]
        constraints = [
            choice_constraint("blog_posts", "status", PostStatus),
            models.CheckConstraint(
                condition=~Q(status=PostStatus.PUBLISHED) | Q(published_at__isnull=False),
                name="blog_posts_published_has_date",
            ),
            models.CheckConstraint(condition=Q(seo_score__lte=100), name="blog_posts_seo_score_range"),
        ]
        indexes = [
            models.Index(
                fields=["-published_at"],
                name="idx_blog_posts_published",
                condition=Q(status="published", archived_at__isnull=True),
            ),
            models.Index(fields=["status", "-updated_at"], name="idx_blog_posts_status"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == PostStatus.PUBLISHED and self.archived_at is None


class BlogPostVersion(UUIDModel):
    """A snapshot of a blog post as one staff save left it (restorable from the admin)."""

    post = models.ForeignKey(BlogPost, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    snapshot = models.JSONField(help_text="The post's editable fields after the save.")
    editor = optional_user_fk()
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = created_at_field()

    class Meta:
        db_table = "blog_post_versions"
        ordering = ["post", "-version_number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "version_number"], name="blog_post_versions_post_number_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.post_id} v{self.version_number}"


class ApprovalDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ContentApproval(UUIDModel):
    """One review request for a blog post and the reviewer's decision on it."""

    post = models.ForeignKey(BlogPost, on_delete=models.CASCADE, related_name="approvals")
    requested_by = optional_user_fk()
    reviewer = optional_user_fk()
    decision = choice_field(ApprovalDecision, max_length=20, default=ApprovalDecision.PENDING, db_default=True)
    comment = models.TextField(blank=True, default="")
    version_number = models.PositiveIntegerField(null=True, blank=True, help_text="The version that was reviewed.")
    created_at = created_at_field()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "content_approvals"
        ordering = ["-created_at"]
        constraints = [
            choice_constraint("content_approvals", "decision", ApprovalDecision),
            models.CheckConstraint(
                condition=Q(decision=ApprovalDecision.PENDING, decided_at__isnull=True)
                | (~Q(decision=ApprovalDecision.PENDING) & Q(decided_at__isnull=False)),
                name="content_approvals_decided_at_iff_decided",
            ),
            # At most one open review per post.
            models.UniqueConstraint(
                fields=["post"],
                condition=Q(decision=ApprovalDecision.PENDING),
                name="content_approvals_one_pending_per_post",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.post_id}: {self.get_decision_display()}"


# --- Newsletter -------------------------------------------------------------------------


class SubscriberStatus(models.TextChoices):
    PENDING = "pending", "Pending confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"


class Subscriber(TimeStampedModel):
    """A newsletter subscriber (one per email address, stored lower-case), with double opt-in."""

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150, blank=True, default="")
    status = choice_field(SubscriberStatus, max_length=20, default=SubscriberStatus.PENDING, db_default=True)
    source = models.CharField(max_length=64, blank=True, default="", help_text="Where they signed up.")
    consent_proof = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="For addresses imported as already confirmed: where the evidence of their consent is kept.",
    )
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    engagement_score = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False, help_text="0-100, from opens and clicks of the last 90 days."
    )
    engagement_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    segments = models.ManyToManyField(
        "SubscriberSegment", through="SubscriberSegmentMember", related_name="manual_members", blank=True
    )

    class Meta:
        db_table = "subscribers"
        ordering = ["email"]
        # Subscribers' personal data leaves the admin only for roles that hold this (ADR 0300).
        permissions = [("export_subscriber", "Can export subscribers as CSV")]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscribers_email_lower_uniq"),
            choice_constraint("subscribers", "status", SubscriberStatus),
            models.CheckConstraint(
                condition=~Q(status=SubscriberStatus.CONFIRMED) | Q(confirmed_at__isnull=False),
                name="subscribers_confirmed_has_date",
            ),
            models.CheckConstraint(condition=Q(engagement_score__lte=100), name="subscribers_engagement_range"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="idx_subscribers_status"),
            search_index("email", name="subscribers_email_search_idx"),
            search_index("first_name", name="subscribers_first_search_idx"),
        ]

    def __str__(self) -> str:
        return self.email


class SegmentKind(models.TextChoices):
    MANUAL = "manual", "Manual (chosen members)"
    RULE = "rule", "Rule (matching subscribers)"


class SubscriberSegment(TimeStampedModel):
    """A named group of subscribers a campaign can target: hand-picked members or a rule."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True, default="")
    kind = choice_field(SegmentKind, max_length=10, default=SegmentKind.MANUAL, db_default=True)
    rule = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='For rule segments, e.g. {"sources": ["footer"], "min_engagement_score": 40, '
        '"confirmed_within_days": 90}.',
    )

    class Meta:
        db_table = "subscriber_segments"
        ordering = ["name"]
        constraints = [choice_constraint("subscriber_segments", "kind", SegmentKind)]

    def __str__(self) -> str:
        return self.name


class SubscriberSegmentMember(UUIDModel):
    """A subscriber placed by hand in a manual segment."""

    segment = models.ForeignKey(SubscriberSegment, on_delete=models.CASCADE, related_name="memberships")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="memberships")
    added_by = optional_user_fk()
    created_at = created_at_field()

    class Meta:
        db_table = "subscriber_segment_members"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "subscriber"], name="subscriber_segment_members_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} in {self.segment_id}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class NewsletterCampaign(TimeStampedModel):
    """One newsletter email sent to the confirmed subscribers of a segment (or to all of them)."""

    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True, default="")
    body_html = models.TextField(help_text="HTML; unsafe markup is removed on save.")
    segment = models.ForeignKey(
        SubscriberSegment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text="Empty means every confirmed subscriber.",
    )
    status = choice_field(CampaignStatus, max_length=20, default=CampaignStatus.DRAFT, db_default=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    recipients_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    created_by = optional_user_fk()

    class Meta:
        db_table = "newsletter_campaigns"
        ordering = ["-created_at"]
        # Drafting is content work; sending (or scheduling) is a manager's decision (ADR 0300).
        permissions = [
            ("send_newslettercampaign", "Can send or schedule newsletter campaigns to subscribers"),
            ("export_newslettercampaign", "Can export campaign reports as CSV"),
        ]
        constraints = [
            choice_constraint("newsletter_campaigns", "status", CampaignStatus),
            models.CheckConstraint(
                condition=~Q(status=CampaignStatus.SCHEDULED) | Q(scheduled_at__isnull=False),
                name="newsletter_campaigns_scheduled_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=CampaignStatus.SENT) | Q(sent_at__isnull=False),
                name="newsletter_campaigns_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["scheduled_at"],
                name="idx_newsletter_campaigns_due",
                condition=Q(status="scheduled"),
            )
        ]

    def __str__(self) -> str:
        return self.subject


# --- Analytics ----------------------------------------------------------------------------


class EventCategory(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    ENGAGEMENT = "engagement", "Engagement"
    CONVERSION = "conversion", "Conversion"
    NAVIGATION = "navigation", "Navigation"
    OTHER = "other", "Other"


class AnalyticsEvent(UUIDModel):
    """One thing a visitor did on the site (a page view, a sign-up, a click), in a journey."""

    event_name = models.CharField(max_length=100)
    category = choice_field(EventCategory, max_length=20, default=EventCategory.OTHER, db_default=True)
    session_id = models.CharField(
        max_length=64, blank=True, default="", help_text="Journey id: one browser tab's visit, no cookie."
    )
    user = optional_user_fk()
    path = models.TextField(blank=True, default="")
    referrer = models.TextField(blank=True, default="")
    properties = models.JSONField(default=dict, db_default={}, blank=True)
    # Seed 4C: posts are archived, never deleted, while analytics point at them.
    blog_post = models.ForeignKey(
        BlogPost, on_delete=models.PROTECT, null=True, blank=True, related_name="analytics_events"
    )
    created_at = created_at_field()

    class Meta:
        db_table = "analytics_events"
        ordering = ["-created_at"]
        constraints = [choice_constraint("analytics_events", "category", EventCategory)]
        indexes = [
            models.Index(fields=["category", "created_at"], name="idx_analytics_events_category"),
            models.Index(fields=["session_id", "created_at"], name="idx_analytics_events_session"),
            models.Index(fields=["blog_post", "created_at"], name="idx_analytics_events_post"),
            models.Index(fields=["created_at"], name="analytics_events_created_idx"),  # the admin list, newest first
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.path}"


# --- Contact form -------------------------------------------------------------------------


class ContactStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    CLOSED = "closed", "Closed"


class ContactSubmission(TimeStampedModel):
    """A message someone sent through the public contact form (message encrypted at rest)."""

    name = models.CharField(max_length=150)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=32, blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    message = EncryptedTextField(help_text="May hold health information; encrypted at rest.")
    status = choice_field(ContactStatus, max_length=20, default=ContactStatus.NEW, db_default=True)
    handled_by = optional_user_fk()
    closed_at = models.DateTimeField(null=True, blank=True)
    ip_address = ip_address_field()

    class Meta:
        db_table = "contact_submissions"
        ordering = ["-created_at"]
        constraints = [choice_constraint("contact_submissions", "status", ContactStatus)]
        indexes = [models.Index(fields=["status", "-created_at"], name="idx_contact_submissions_status")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


# --- Careers ------------------------------------------------------------------------------


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", "Full time"
    PART_TIME = "part_time", "Part time"
    CONTRACT = "contract", "Contract"


class JobPosting(TimeStampedModel, SoftDeleteModel):
    """An open or closed role at the practice, listed on the careers page while open."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    location = models.CharField(max_length=150, blank=True, default="")
    employment_type = choice_field(EmploymentType, max_length=20, default=EmploymentType.FULL_TIME)
    summary = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="", help_text="HTML; unsafe markup is removed on save.")
    is_open = models.BooleanField(default=True, db_default=True)
    closes_at = models.DateTimeField(null=True, blank=True)

    class Meta(SoftDeleteModel.Meta):
        db_table = "job_postings"
        ordering = ["title"]
        constraints = [choice_constraint("job_postings", "employment_type", EmploymentType)]

    def __str__(self) -> str:
        return self.title


class ApplicationStatus(models.TextChoices):
    NEW = "new", "New"
    REVIEWING = "reviewing", "Reviewing"
    INTERVIEW = "interview", "Interview"
    OFFERED = "offered", "Offered"
    HIRED = "hired", "Hired"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


CV_UPLOAD_DIR = "private/careers/cv"


def cv_upload_to(instance, filename: str) -> str:
    """Random file names so a CV cannot be found by guessing; the extension was validated."""
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"{CV_UPLOAD_DIR}/{instance.id}.{extension}"


class CareerApplication(TimeStampedModel):
    """One person's application for a job posting, with their CV (staff-only download)."""

    job_posting = models.ForeignKey(JobPosting, on_delete=models.PROTECT, related_name="applications")
    full_name = models.CharField(max_length=150)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=32, blank=True, default="")
    cover_letter = models.TextField(blank=True, default="")
    # Encrypted at rest with the field keys (docs/adr/0330); read through the storage, which decrypts.
    cv = models.FileField(upload_to=cv_upload_to, storage=encrypted_file_storage, max_length=300)
    cv_original_name = models.CharField(max_length=255, blank=True, default="")
    status = choice_field(ApplicationStatus, max_length=20, default=ApplicationStatus.NEW, db_default=True)
    staff_notes = models.TextField(blank=True, default="")
    ip_address = ip_address_field()
    # Her choice on the form; without it the application and CV go six months after the role
    # closes, with it two years after she applied (content/retention.py, docs/adr/0350).
    keep_on_file = models.BooleanField(
        default=False,
        db_default=False,
        help_text="She asked us to keep her application on file for future roles.",
    )

    class Meta:
        db_table = "career_applications"
        ordering = ["-created_at"]
        constraints = [choice_constraint("career_applications", "status", ApplicationStatus)]
        indexes = [models.Index(fields=["job_posting", "status"], name="idx_career_applications_job")]

    def __str__(self) -> str:
        return f"{self.full_name} for {self.job_posting_id}"


# --- Support chat -------------------------------------------------------------------------


class ChatStatus(models.TextChoices):
    OPEN = "open", "Open"
    WAITING = "waiting", "Waiting for visitor"
    CLOSED = "closed", "Closed"


class ChatConversation(TimeStampedModel):
    """A support chat between a visitor (or member) and the care team."""

    user = optional_user_fk()
    visitor_name = models.CharField(max_length=150, blank=True, default="")
    visitor_email = models.EmailField(max_length=254, blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    status = choice_field(ChatStatus, max_length=20, default=ChatStatus.OPEN, db_default=True)
    assigned_to = optional_user_fk()
    last_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "chat_conversations"
        ordering = ["-last_message_at", "-created_at"]
        constraints = [choice_constraint("chat_conversations", "status", ChatStatus)]
        indexes = [models.Index(fields=["status", "-last_message_at"], name="idx_chat_conversations_status")]

    def __str__(self) -> str:
        who = self.visitor_name or self.visitor_email or "visitor"
        return f"Chat with {who}"


class ChatSender(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System"


class ChatMessage(UUIDModel):
    """One message in a support chat, from the visitor or a staff member (encrypted at rest)."""

    conversation = models.ForeignKey(ChatConversation, on_delete=models.CASCADE, related_name="messages")
    sender = choice_field(ChatSender, max_length=10)
    staff_user = optional_user_fk()
    body = EncryptedTextField()
    created_at = created_at_field()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "chat_messages"
        ordering = ["created_at"]
        constraints = [choice_constraint("chat_messages", "sender", ChatSender)]
        indexes = [models.Index(fields=["conversation", "created_at"], name="idx_chat_messages_conversation")]

    def __str__(self) -> str:
        return f"{self.get_sender_display()} message in {self.conversation_id}"
