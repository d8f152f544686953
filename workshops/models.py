"""Live workshops: the catalog, seats and the waitlist, attendance from Zoom, feedback and series."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bloom.crypto import EncryptedTextField
from bloom.fields import choice_constraint, choice_field, money_field, not_negative, optional_user_fk
from bloom.models import DbNow, SoftDeleteModel, TimeStampedModel, UUIDModel, created_at_field
from bloom.webhooks import WebhookEventBase


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/Los_Angeles).") from exc


class WorkshopSeries(TimeStampedModel, SoftDeleteModel):
    """A multi-session programme that groups several workshops (e.g. a six-week postpartum circle)."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    required_sessions = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Sessions a member must attend to complete the series; empty means every session.",
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "workshop_series"
        ordering = ["title"]
        verbose_name_plural = "workshop series"

    def __str__(self) -> str:
        return self.title


class WorkshopStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


CANCELLED_NOT_REPUBLISHED = (
    "A cancelled workshop cannot be published again: its registrations were cancelled. Create a new workshop instead."
)


class Workshop(TimeStampedModel, SoftDeleteModel):
    """One live online workshop in the catalog, held on Zoom at a set time with a seat limit."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    timezone = models.CharField(
        max_length=64,
        default="America/Los_Angeles",
        validators=[validate_timezone],
        help_text="Time zone the facilitator announces times in.",
    )
    capacity = models.PositiveIntegerField(help_text="Seats; members beyond this join the waitlist.")
    price = money_field(zero_default=True)
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    zoom_meeting_id = models.CharField(max_length=32, blank=True, db_index=True)
    zoom_join_url = models.URLField(max_length=500, blank=True)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="facilitated_workshops",
        limit_choices_to={"is_staff": True},
    )
    series = models.ForeignKey(
        WorkshopSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="workshops"
    )
    status = choice_field(WorkshopStatus, max_length=10, default=WorkshopStatus.DRAFT, db_default=True)

    class Meta(SoftDeleteModel.Meta):
        db_table = "workshops"
        ordering = ["starts_at"]
        constraints = [
            choice_constraint("workshops", "status", WorkshopStatus),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="workshops_ends_after_start"),
            not_negative("workshops", "price"),
        ]
        indexes = [models.Index(fields=["status", "starts_at"], name="idx_workshops_status_starts")]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d})"

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def is_bookable(self) -> bool:
        return self.status == WorkshopStatus.PUBLISHED and not self.is_archived and self.starts_at > timezone.now()

    def publish_refusal(self) -> dict[str, str]:
        """Why this workshop cannot be published now, by field (empty: it can). Issue 14 point 6."""
        refusals = {}
        if self.starts_at is None or self.ends_at is None:
            refusals["starts_at"] = "Give the workshop a start and an end time before publishing it."
        elif self.starts_at <= timezone.now():
            refusals["starts_at"] = "This start time has passed: members could not join. Choose a time in the future."
        if self.facilitator_id is None:
            refusals["facilitator"] = "Choose who hosts the workshop before publishing it."
        return refusals

    def clean(self):
        super().clean()
        if self.status != WorkshopStatus.PUBLISHED:
            return
        previous = Workshop.all_objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if previous == WorkshopStatus.PUBLISHED:
            return  # editing a published workshop is not publishing it
        if previous == WorkshopStatus.CANCELLED:
            raise ValidationError({"status": CANCELLED_NOT_REPUBLISHED})
        if refusals := self.publish_refusal():
            raise ValidationError(refusals)


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", "Registered"
    WAITLISTED = "waitlisted", "Waitlisted"
    CANCELLED = "cancelled", "Cancelled"
    ATTENDED = "attended", "Attended"
    NO_SHOW = "no_show", "No-show"


# Registrations in these states occupy a seat (an offered waitlist entry holds one too).
SEAT_STATUSES = [RegistrationStatus.REGISTERED, RegistrationStatus.ATTENDED, RegistrationStatus.NO_SHOW]


class PaymentStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", "Free"
    PENDING = "pending", "Awaiting payment"
    PAID = "paid", "Paid"
    FAILED = "failed", "Payment failed"
    REFUNDED = "refunded", "Refunded"


class WorkshopRegistration(TimeStampedModel):
    """A member's sign-up for one workshop: a seat, a waitlist place, or a cancelled claim."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_registrations")
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="registrations")
    status = choice_field(RegistrationStatus, max_length=12, default=RegistrationStatus.REGISTERED)
    payment_status = choice_field(PaymentStatus, max_length=12, default=PaymentStatus.NOT_REQUIRED)
    payment = models.ForeignKey(
        "billing.PaymentIntent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="workshop_registrations",
    )
    amount = money_field(zero_default=True)
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    registered_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "workshop_registrations"
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workshop"],
                condition=~Q(status=RegistrationStatus.CANCELLED),
                name="workshop_registrations_one_active",
            ),
            choice_constraint("workshop_registrations", "status", RegistrationStatus),
            choice_constraint("workshop_registrations", "payment_status", PaymentStatus),
            not_negative("workshop_registrations", "amount"),
        ]
        indexes = [
            models.Index(fields=["workshop", "status"], name="idx_workshop_reg_workshop_st"),
            models.Index(fields=["user", "status"], name="idx_workshop_reg_user_status"),
            models.Index(fields=["registered_at"], name="workshop_reg_registered_idx"),  # the admin list, newest first
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.workshop_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Seat offered"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Offer expired"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_WAITLIST_STATUSES = [WaitlistStatus.WAITING, WaitlistStatus.OFFERED]


class WorkshopWaitlistEntry(UUIDModel):
    """A member's place in the queue for a full workshop, and any seat offered to them."""

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="waitlist_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_waitlist")
    registration = models.OneToOneField(WorkshopRegistration, on_delete=models.CASCADE, related_name="waitlist_entry")
    position = models.PositiveIntegerField()
    status = choice_field(WaitlistStatus, max_length=10, default=WaitlistStatus.WAITING)
    joined_at = created_at_field()
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "workshop_waitlist"
        ordering = ["workshop", "position"]
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist"
        constraints = [
            models.UniqueConstraint(fields=["workshop", "position"], name="workshop_waitlist_position_unique"),
            models.UniqueConstraint(
                fields=["workshop", "user"],
                condition=Q(status__in=ACTIVE_WAITLIST_STATUSES),
                name="workshop_waitlist_one_active",
            ),
            choice_constraint("workshop_waitlist", "status", WaitlistStatus),
            models.CheckConstraint(
                condition=~Q(status=WaitlistStatus.OFFERED) | Q(offer_expires_at__isnull=False),
                name="workshop_waitlist_offer_has_expiry",
            ),
        ]
        indexes = [models.Index(fields=["status", "offer_expires_at"], name="idx_workshop_waitlist_offers")]

    def __str__(self) -> str:
        return f"#{self.position} for {self.workshop_id} ({self.status})"


class AttendanceSource(models.TextChoices):
    ZOOM = "zoom", "Zoom"
    MANUAL = "manual", "Recorded by staff"


class WorkshopAttendance(UUIDModel):
    """A participant's time in a workshop's meeting: from Zoom, or recorded by staff.

    A Zoom row is one per participant and workshop, recomputed from their connections
    (`WorkshopConnectionEvent`) whenever one of Zoom's events arrives: `duration_minutes` is
    the union of the connections' intervals, so reconnects and a second device count once
    (docs/adr/0054).
    """

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="attendance")
    registration = models.ForeignKey(
        WorkshopRegistration, on_delete=models.SET_NULL, null=True, blank=True, related_name="attendance"
    )
    user = optional_user_fk(related_name="workshop_attendance")
    participant_email = models.EmailField(blank=True)
    participant_name = models.CharField(max_length=200, blank=True)
    zoom_participant_id = models.CharField(max_length=200, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    source = choice_field(AttendanceSource, max_length=10, default=AttendanceSource.ZOOM)
    # Whose Zoom connections this row adds up (workshops.services.attendance.participant_key_for);
    # empty for rows recorded by staff.
    participant_key = models.CharField(max_length=300, blank=True, default="", db_default="")
    created_at = created_at_field()

    class Meta:
        db_table = "workshop_attendance"
        ordering = ["workshop", "joined_at"]
        verbose_name_plural = "workshop attendance"
        constraints = [
            choice_constraint("workshop_attendance", "source", AttendanceSource),
            models.UniqueConstraint(
                fields=["workshop", "participant_key"],
                condition=Q(source=AttendanceSource.ZOOM) & ~Q(participant_key=""),
                name="workshop_attendance_one_zoom_row_each",
            ),
            models.CheckConstraint(
                condition=Q(joined_at__isnull=False) | Q(left_at__isnull=False),
                name="workshop_attendance_has_a_time",
            ),
            models.CheckConstraint(
                condition=Q(joined_at__isnull=True) | Q(left_at__isnull=True) | Q(left_at__gte=models.F("joined_at")),
                name="workshop_attendance_left_after_join",
            ),
        ]
        indexes = [models.Index(fields=["workshop", "zoom_participant_id"], name="idx_workshop_att_participant")]

    def clean(self):
        """Attendance staff record by hand: only for a workshop that has started, never in the future."""
        super().clean()
        now = timezone.now()
        errors = {}
        workshop = Workshop.all_objects.filter(pk=self.workshop_id).only("starts_at").first()
        if workshop is not None and workshop.starts_at > now:
            errors["workshop"] = "This workshop has not started yet, so nobody can have attended it."
        for name in ("joined_at", "left_at"):
            value = getattr(self, name)
            if value is not None and value > now:
                errors[name] = "This time is in the future: attendance is recorded after it happens."
        if errors:
            raise ValidationError(errors)

    def __str__(self) -> str:
        return f"{self.participant_email or self.user_id} in {self.workshop_id}"


class ConnectionEventKind(models.TextChoices):
    JOINED = "joined", "Joined"
    LEFT = "left", "Left"
    # The meeting ended: closes every connection still open then. Has no connection of its own.
    ENDED = "ended", "Meeting ended"


class WorkshopConnectionEvent(UUIDModel):
    """One join or one leave of one Zoom connection (a device) in a workshop's meeting, or its end.

    Zoom gives every connection its own id (`participant_uuid`, else `user_id`) and a new one
    when the participant reconnects, so a leave pairs with its own join whatever order the
    deliveries arrive in. The same event stored twice is one row.
    """

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="connection_events")
    participant_key = models.CharField(max_length=300)
    connection_id = models.CharField(max_length=200)
    kind = choice_field(ConnectionEventKind, max_length=6)
    at = models.DateTimeField()
    participant_email = models.EmailField(blank=True)
    participant_name = models.CharField(max_length=200, blank=True)
    registrant_id = models.CharField(max_length=200, blank=True)
    created_at = created_at_field()

    class Meta:
        db_table = "workshop_connection_events"
        ordering = ["workshop", "at"]
        verbose_name = "Zoom connection event"
        constraints = [
            models.UniqueConstraint(
                fields=["workshop", "connection_id", "kind", "at"], name="workshop_connection_events_once"
            ),
            choice_constraint("workshop_connection_events", "kind", ConnectionEventKind),
            models.CheckConstraint(
                condition=(Q(kind=ConnectionEventKind.ENDED) & Q(connection_id="") & Q(participant_key=""))
                | (~Q(kind=ConnectionEventKind.ENDED) & ~Q(connection_id="") & ~Q(participant_key="")),
                name="workshop_connection_events_end_has_no_connection",
            ),
        ]
        indexes = [models.Index(fields=["workshop", "participant_key"], name="idx_workshop_conn_participant")]

    def __str__(self) -> str:
        return f"{self.participant_key} {self.kind} {self.at:%H:%M:%S} ({self.connection_id})"


class WorkshopFeedback(UUIDModel):
    """A member's rating and comments about a workshop they attended."""

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_feedback")
    rating = models.PositiveSmallIntegerField()
    # What she writes may be about her health: Fernet-encrypted at rest (docs/adr/0330).
    comments = EncryptedTextField(blank=True)
    would_recommend = models.BooleanField(null=True, blank=True)
    created_at = created_at_field()

    class Meta:
        db_table = "workshop_feedback"
        ordering = ["-created_at"]
        verbose_name_plural = "workshop feedback"
        constraints = [
            models.UniqueConstraint(fields=["workshop", "user"], name="workshop_feedback_one_per_member"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="workshop_feedback_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.workshop_id}"


class WorkshopResource(TimeStampedModel):
    """A handout, worksheet or link for a workshop, shown to its registered members from `visible_after`."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    file = models.FileField(upload_to="workshops/resources/", blank=True)
    url = models.URLField(max_length=500, blank=True)
    visible_after = models.DateTimeField(
        null=True, blank=True, help_text="Empty: visible to registered members at once."
    )
    sort_order = models.PositiveSmallIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "workshop_resources"
        ordering = ["workshop", "sort_order", "title"]
        constraints = [
            models.CheckConstraint(condition=~Q(file="") | ~Q(url=""), name="workshop_resources_file_or_url"),
        ]

    def __str__(self) -> str:
        return self.title


class UserWorkshopSeriesProgress(TimeStampedModel):
    """How many sessions of a series one member has attended, and when they completed it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_series_progress"
    )
    series = models.ForeignKey(WorkshopSeries, on_delete=models.PROTECT, related_name="progress")
    sessions_attended = models.PositiveIntegerField(default=0, db_default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_workshop_series_progress"
        verbose_name_plural = "workshop series progress"
        constraints = [
            models.UniqueConstraint(fields=["user", "series"], name="user_workshop_series_progress_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.series_id}: {self.sessions_attended}"


class ZoomWebhookEvent(WebhookEventBase):
    """One delivery from Zoom's webhook, stored once and processed by a worker."""

    zoom_event_id = models.TextField(unique=True)

    class Meta(WebhookEventBase.Meta):
        db_table = "zoom_webhook_events"
        indexes = [
            models.Index(fields=["event_type"], name="idx_zoom_webhook_events_type"),
            models.Index(fields=["processed"], name="idx_zoom_webhook_events_proc"),
        ]
