"""The outbox, email templates and sequences, tracking, suppression and in-portal notices."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q, Value
from django.utils import timezone

from bloom.fields import choice_constraint, choice_field, optional_user_fk
from bloom.models import DbNow, SoftDeleteModel, TimeStampedModel, UUIDModel, created_at_field


class EmailCategory(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    CLINICAL = "clinical", "Clinical"
    MARKETING = "marketing", "Marketing"


class EmailPriority(models.IntegerChoices):
    HIGH = 10, "High"
    NORMAL = 50, "Normal"
    LOW = 90, "Low"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class SeedIndex(models.Index):
    """An index whose name comes from seed section 4B: PostgreSQL allows 63 characters, Django checks 30."""

    max_name_length = 63


class EmailQueue(TimeStampedModel):
    """One email in the outbox: rendered at queue time, claimed and sent by the drain."""

    to_email = models.CharField(max_length=254)
    user = optional_user_fk(db_index=False)
    from_email = models.CharField(max_length=254, blank=True, default="")
    subject = models.TextField(blank=True, default="")
    text_body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="")
    headers = models.JSONField(default=dict, db_default=Value({}, models.JSONField()), blank=True)
    # The complete MIME message minus its Date header, built at queue time (docs/adr/0021).
    mime_message = models.TextField(blank=True, default="")
    template_key = models.CharField(max_length=200, blank=True, default="")
    context = models.JSONField(default=dict, db_default=Value({}, models.JSONField()), blank=True)
    # Destinations of the rewritten links of a tracked email, by index (docs/adr/0022).
    tracked_links = models.JSONField(default=list, db_default=Value([], models.JSONField()), blank=True)
    category = choice_field(EmailCategory, max_length=20, default=EmailCategory.TRANSACTIONAL)
    priority = models.SmallIntegerField(default=EmailPriority.NORMAL, db_default=EmailPriority.NORMAL)
    status = choice_field(EmailStatus, max_length=10, default=EmailStatus.PENDING, db_default=True)
    scheduled_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    retry_count = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True, default="")
    message_id = models.CharField(max_length=255, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    campaign_id = models.UUIDField(null=True, blank=True)
    sequence_step = models.ForeignKey(
        "notifications.SequenceEmail",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        db_table = "email_queue"
        verbose_name = "queued email"
        verbose_name_plural = "email queue"
        ordering = ["priority", "scheduled_at"]
        # Partial indexes: marking a row sent (a non-HOT update) then adds entries only to the
        # indexes whose condition the new row meets, which keeps the per-message write cheap.
        # to_email and message_id are only ever looked up by equality: plain btree indexes, without
        # the varchar_pattern_ops twins db_index=True adds (each is one more insert per "sent" mark).
        indexes = [
            models.Index(fields=["to_email"], name="email_queue_to_email_idx"),
            models.Index(fields=["message_id"], name="email_queue_message_id_idx"),
            models.Index(
                fields=["status", "priority", "scheduled_at"],
                name="email_queue_claim_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["status", "lease_expires_at"], name="email_queue_lease_idx", condition=Q(status="sending")
            ),
            # The admin home's email card: failed, and queued or sending past their time (few rows).
            models.Index(
                fields=["status", "scheduled_at"],
                name="email_queue_attention_idx",
                condition=Q(status__in=["failed", "pending", "sending"]),
            ),
            models.Index(fields=["user"], name="email_queue_user_idx", condition=Q(user__isnull=False)),
            models.Index(
                fields=["campaign_id"], name="email_queue_campaign_idx", condition=Q(campaign_id__isnull=False)
            ),
            models.Index(
                fields=["sequence_step"], name="email_queue_seq_step_idx", condition=Q(sequence_step__isnull=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                name="email_queue_idempotency_key_unique",
                condition=Q(idempotency_key__isnull=False),
            ),
            choice_constraint("email_queue", "status", EmailStatus),
            choice_constraint("email_queue", "category", EmailCategory),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} → {self.to_email}"


class EmailTemplate(TimeStampedModel, SoftDeleteModel):
    """An email template staff can edit: overrides the file-based default with the same key."""

    key = models.CharField(max_length=200, unique=True)
    subject = models.TextField()
    text_template = models.TextField()
    html_template = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")

    class Meta(SoftDeleteModel.Meta):
        db_table = "email_templates"
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class SequenceTrigger(models.TextChoices):
    MEMBER_SIGNED_UP = "member_signed_up", "Member signed up"
    EMAIL_VERIFIED = "email_verified", "Email verified"
    COURSE_ENROLLED = "course_enrolled", "Course enrolled"
    WORKSHOP_REGISTERED = "workshop_registered", "Workshop registered"
    SUBSCRIBER_CONFIRMED = "subscriber_confirmed", "Subscriber confirmed"


class StopCondition(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed from marketing"
    SUPPRESSED = "suppressed", "Address suppressed"
    PURCHASED = "purchased", "Purchased the promoted course"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"


class SequenceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class EmailSequence(TimeStampedModel, SoftDeleteModel):
    """An automated series of emails started by a trigger (the welcome sequence ...)."""

    Status = SequenceStatus

    name = models.CharField(max_length=150, unique=True)
    trigger = choice_field(SequenceTrigger, max_length=30)
    status = choice_field(Status, max_length=10, default=Status.ACTIVE)
    category = choice_field(EmailCategory, max_length=20, default=EmailCategory.MARKETING)
    # Built-in StopCondition values or names registered with register_sequence_stop_check().
    stop_conditions = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    description = models.TextField(blank=True, default="")

    class Meta(SoftDeleteModel.Meta):
        db_table = "email_sequences"
        ordering = ["name"]
        constraints = [
            choice_constraint("email_sequences", "trigger", SequenceTrigger),
            choice_constraint("email_sequences", "status", SequenceStatus),
        ]

    def __str__(self) -> str:
        return self.name


class SequenceEmail(TimeStampedModel):
    """One step of a sequence: what to send and how long after the trigger."""

    sequence = models.ForeignKey(EmailSequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    delay = models.DurationField(help_text="Time after the trigger, e.g. '2 00:00:00' for two days.")
    template_key = models.CharField(max_length=200, blank=True, default="")
    subject = models.TextField(blank=True, default="")
    text_body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="")

    class Meta:
        db_table = "sequence_emails"
        ordering = ["sequence", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="sequence_emails_position_unique"),
            models.CheckConstraint(
                condition=~Q(template_key="") | ~Q(subject=""), name="sequence_emails_template_or_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.position}"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class EmailSequenceEnrollment(TimeStampedModel):
    """One recipient's progress through one sequence."""

    sequence = models.ForeignKey(EmailSequence, on_delete=models.PROTECT, related_name="enrollments")
    email = models.CharField(max_length=254)
    user = optional_user_fk()
    context = models.JSONField(default=dict, db_default=Value({}, models.JSONField()), blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    current_step = models.PositiveSmallIntegerField(default=0, db_default=0, help_text="Steps already handled.")
    next_due_at = models.DateTimeField(null=True, blank=True)
    status = choice_field(EnrollmentStatus, max_length=10, default=EnrollmentStatus.ACTIVE)
    stop_reason = models.TextField(blank=True, default="")

    class Meta:
        db_table = "email_sequence_enrollments"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "next_due_at"], name="email_seq_enroll_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "email"], name="email_seq_enroll_unique"),
            choice_constraint("email_seq_enroll", "status", EnrollmentStatus),
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.sequence}"


class AutomationEvent(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    STOPPED = "stopped", "Stopped"
    COMPLETED = "completed", "Completed"


class EmailAutomationLog(UUIDModel):
    """What happened to one sequence step for one recipient: queued, sent, skipped or stopped, and why."""

    Event = AutomationEvent

    enrollment = models.ForeignKey(
        EmailSequenceEnrollment, on_delete=models.CASCADE, null=True, blank=True, related_name="logs"
    )
    sequence = models.ForeignKey(EmailSequence, on_delete=models.CASCADE, related_name="logs")
    step = models.ForeignKey(SequenceEmail, on_delete=models.SET_NULL, null=True, blank=True, related_name="logs")
    email = models.CharField(max_length=254)
    queued_email = models.ForeignKey(EmailQueue, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    event = choice_field(Event, max_length=10)
    reason = models.TextField(blank=True, default="")
    created_at = created_at_field(db_index=True)

    class Meta:
        db_table = "email_automation_logs"
        ordering = ["-created_at"]
        constraints = [choice_constraint("email_automation_logs", "event", AutomationEvent)]

    def __str__(self) -> str:
        return f"{self.event} {self.email}"


class EmailCampaignMetric(UUIDModel):
    """Delivery and engagement of one campaign email to one recipient (seed section 3)."""

    campaign_id = models.UUIDField(null=True, blank=True)
    email = models.ForeignKey(
        EmailQueue,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="email_id",
        related_name="metrics",
        db_index=False,  # the unique constraint indexes it
    )
    recipient_email = models.TextField()
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_type = models.TextField(null=True, blank=True)
    click_data = models.JSONField(null=True, blank=True, default=list, db_default=Value([], models.JSONField()))

    class Meta:
        db_table = "email_campaign_metrics"
        indexes = [models.Index(fields=["campaign_id"], name="email_campaign_metrics_cmp_idx")]
        constraints = [models.UniqueConstraint(fields=["email"], name="email_campaign_metrics_email_unique")]

    def __str__(self) -> str:
        return f"{self.recipient_email} in {self.campaign_id}"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    COMPLAINT = "complaint", "Complaint"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
    MANUAL = "manual", "Manual"


class SuppressionScope(models.TextChoices):
    ALL = "all", "All mail"
    MARKETING = "marketing", "Marketing only"


class EmailSuppression(UUIDModel):
    """An address we must not email (at all, or only marketing): bounce, complaint, unsubscribe or staff."""

    Reason = SuppressionReason
    Scope = SuppressionScope

    email = models.CharField(max_length=254, unique=True)
    reason = choice_field(Reason, max_length=20)
    scope = choice_field(Scope, max_length=10, default=Scope.ALL)
    detail = models.TextField(blank=True, default="")
    created_at = created_at_field()

    class Meta:
        db_table = "email_suppressions"
        ordering = ["-created_at"]
        constraints = [
            choice_constraint("email_suppressions", "reason", SuppressionReason),
            choice_constraint("email_suppressions", "scope", SuppressionScope),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_scope_display()})"


class UserNotification(UUIDModel):
    """One notice shown in a member's portal bell (seed section 3)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,  # idx_user_notifications_user_read leads with user_id
    )
    type = models.TextField()
    title = models.TextField()
    message = models.TextField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True, default=dict, db_default=Value({}, models.JSONField()))
    read = models.BooleanField(null=True, default=False, db_default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, default=timezone.now, db_default=DbNow())

    class Meta:
        db_table = "user_notifications"
        ordering = ["-created_at"]
        indexes = [SeedIndex(fields=["user", "read"], name="idx_user_notifications_user_read")]

    def __str__(self) -> str:
        return self.title
