"""Therapists, their availability, booked sessions, their payments, reminders and notes.

Bookings arrive from Calendly webhooks (`calendly_webhook_events`), become rows of
`appointment_data`, get reminders (`appointment_reminder_logs`) and, after the session,
an encrypted `session_notes` row written by the therapist.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bloom.crypto import EncryptedJSONField, EncryptedTextField
from bloom.fields import choice_constraint, choice_field, money_field, not_negative, optional_user_fk, search_index
from bloom.models import DbNow, SoftDeleteModel, TimeStampedModel, UUIDModel, created_at_field, uuid_pk
from bloom.webhooks import WebhookEventBase

DEFAULT_TIMEZONE = "America/Los_Angeles"


class PostgresIndex(models.Index):
    """An index whose name may use PostgreSQL's 63 characters (Django checks for 30):
    the seed's `idx_appointment_payments_created_at` is 35 characters long."""

    max_name_length = 63


class TherapistProfile(SoftDeleteModel):
    """One therapist members can book: who they are, their Calendly user and page, their rate."""

    # Seed section 3 columns, exactly as written there (nullability and defaults included).
    id = uuid_pk()
    user = optional_user_fk(
        related_name="therapist_profiles", help_text="The therapist's own login, when they have one."
    )
    calendly_user_uri = models.TextField(
        null=True, blank=True, help_text="Calendly API URI of the host, e.g. https://api.calendly.com/users/XXXX."
    )
    specialties = ArrayField(models.TextField(), null=True, blank=True, default=list)
    bio = models.TextField(null=True, blank=True)
    hourly_rate = money_field(null=True, blank=True)
    is_accepting_clients = models.BooleanField(null=True, default=True, db_default=True)
    created_at = created_at_field(null=True)
    # What a clinic needs besides.
    display_name = models.CharField(max_length=150)
    credentials = models.CharField(max_length=100, blank=True, default="", help_text="e.g. PhD, LMFT, PMH-C")
    photo_url = models.URLField(blank=True, default="")
    scheduling_url = models.URLField(blank=True, default="", help_text="Public Calendly page members book on.")
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    timezone = models.CharField(max_length=64, default=DEFAULT_TIMEZONE)
    updated_at = models.DateTimeField(auto_now=True, db_default=DbNow())
    # Who she helps and what a session costs (the member-facing directory, docs/appointments.md).
    who_i_help = models.TextField(blank=True, default="", help_text="A few sentences on who this therapist helps.")
    session_fee = money_field(null=True, blank=True, help_text="What one session costs; empty means the hourly rate.")
    session_minutes = models.PositiveSmallIntegerField(default=50, db_default=50)
    # The cancellation and no-show policy a member accepts before booking (per therapist).
    cancellation_window_hours = models.PositiveSmallIntegerField(
        default=24, db_default=24, help_text="Cancelling less than this many hours ahead is a late cancellation."
    )
    no_show_fee = money_field(null=True, blank=True, help_text="Empty: no fee for a missed session.")
    late_cancel_fee = money_field(null=True, blank=True, help_text="Empty: no fee for a late cancellation.")
    # For superbills.
    npi = models.CharField("NPI", max_length=10, blank=True, default="", help_text="National Provider Identifier.")
    license_number = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        db_table = "therapist_profiles"
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendly_user_uri"],
                condition=Q(calendly_user_uri__isnull=False),
                name="therapist_profiles_calendly_user_uri_uniq",
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__isnull=True) | Q(hourly_rate__gte=0),
                name="therapist_profiles_rate_not_negative",
            ),
            models.CheckConstraint(
                condition=(Q(session_fee__isnull=True) | Q(session_fee__gte=0))
                & (Q(no_show_fee__isnull=True) | Q(no_show_fee__gte=0))
                & (Q(late_cancel_fee__isnull=True) | Q(late_cancel_fee__gte=0)),
                name="therapist_profiles_fees_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name}, {self.credentials}" if self.credentials else self.display_name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class TherapistAvailability(TimeStampedModel):
    """One weekly block a therapist sees clients (weekday, local start and end time)."""

    therapist = models.ForeignKey(TherapistProfile, on_delete=models.CASCADE, related_name="availability")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    timezone = models.CharField(max_length=64, default=DEFAULT_TIMEZONE)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "therapist_availability"
        verbose_name_plural = "therapist availability"
        ordering = ["therapist", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="therapist_availability_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="therapist_availability_weekday_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="therapist_availability_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M} ({self.timezone})"


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    RESCHEDULED = "rescheduled", "Rescheduled"
    LATE_CANCELLED = "late_cancelled", "Late-cancelled"


class CancelledBy(models.TextChoices):
    INVITEE = "invitee", "The member"
    HOST = "host", "The therapist"
    STAFF = "staff", "The practice"


class BookingPolicyAcceptance(UUIDModel):
    """A member's acceptance of a therapist's cancellation and no-show policy, with the terms
    as they stood (fees and window are copied: a later change to the therapist's policy never
    changes what she agreed to). The consent record holds the evidence (version, IP, agent)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_policies")
    therapist = models.ForeignKey("TherapistProfile", on_delete=models.PROTECT, related_name="policy_acceptances")
    policy_version = models.CharField(max_length=40)
    window_hours = models.PositiveSmallIntegerField()
    no_show_fee = money_field(null=True, blank=True)
    late_cancel_fee = money_field(null=True, blank=True)
    session_fee = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    consent = models.ForeignKey(
        "accounts.ConsentRecord", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = created_at_field()

    class Meta:
        db_table = "booking_policy_acceptances"
        ordering = ["-accepted_at"]
        indexes = [models.Index(fields=["user", "therapist", "-accepted_at"], name="booking_policy_user_idx")]

    def __str__(self) -> str:
        return f"Policy {self.policy_version} accepted {self.accepted_at:%Y-%m-%d}"


class GoodFaithEstimate(UUIDModel):
    """A Good Faith Estimate (No Surprises Act) given to a self-pay client at booking: the
    expected charges for a course of sessions with one therapist, as they stood that day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="good_faith_estimates")
    therapist = models.ForeignKey("TherapistProfile", on_delete=models.PROTECT, related_name="good_faith_estimates")
    session_fee = money_field()
    session_count = models.PositiveSmallIntegerField(help_text="Sessions expected over the estimate's period.")
    total = money_field()
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    service_code = models.CharField(max_length=10, blank=True, default="")
    valid_until = models.DateField()
    created_at = created_at_field()

    class Meta:
        db_table = "good_faith_estimates"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="good_faith_estimates_user_idx")]
        constraints = [
            not_negative("good_faith_estimates", "session_fee"),
            not_negative("good_faith_estimates", "total"),
        ]

    def __str__(self) -> str:
        return f"Good Faith Estimate {self.created_at:%Y-%m-%d}"


class BookingLink(UUIDModel):
    """An opaque tracking value put on a therapist's Calendly link (`utm_content`), so the
    booking webhook finds the member even when she books under another email (tracking.py)."""

    token = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_links")
    therapist = models.ForeignKey("TherapistProfile", on_delete=models.CASCADE, related_name="booking_links")
    created_at = created_at_field()

    class Meta:
        db_table = "booking_links"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "therapist"], name="booking_links_one_per_pair")]

    def __str__(self) -> str:
        return f"Booking link {self.token[:6]}…"


# Appointment payments that hold, owe or took money: at most one of each kind per appointment.
LIVE_PAYMENT_STATUSES = ("pending", "checking", "authorized", "captured")

# A booking in one of these states is final: a late Calendly event never brings it back.
CLOSED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULED)


class AppointmentQuerySet(models.QuerySet):
    def upcoming(self, *, now=None):
        return self.filter(status=AppointmentStatus.SCHEDULED, ends_at__gt=now or timezone.now())

    def past(self, *, now=None):
        return self.exclude(status=AppointmentStatus.SCHEDULED, ends_at__gt=now or timezone.now())


class AppointmentData(TimeStampedModel):
    """One booked session between a member and a therapist (usually booked through Calendly)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
        help_text="The member; empty while the invitee's email matches no member.",
    )
    therapist = models.ForeignKey(
        TherapistProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    invitee_email = models.EmailField(blank=True, default="")
    invitee_name = models.CharField(max_length=200, blank=True, default="")
    calendly_event_uri = models.TextField(null=True, blank=True, db_index=True)
    calendly_invitee_uri = models.TextField(null=True, blank=True, unique=True)
    calendly_synced_at = models.DateTimeField(
        null=True, blank=True, help_text="Calendly time of the last webhook event applied (older events are ignored)."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, default=DEFAULT_TIMEZONE, help_text="The invitee's time zone.")
    status = choice_field(AppointmentStatus, max_length=20, default=AppointmentStatus.SCHEDULED)
    cancel_reason = models.TextField(blank=True, default="")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    location = models.TextField(null=True, blank=True)
    zoom_meeting_url = models.TextField(null=True, blank=True)
    session_notes = models.OneToOneField(
        "SessionNote", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # Cancel and reschedule (Calendly's links; a reschedule links the old and the new booking).
    calendly_cancel_url = models.TextField(blank=True, default="")
    calendly_reschedule_url = models.TextField(blank=True, default="")
    calendly_old_invitee_uri = models.TextField(null=True, blank=True, help_text="The booking this one replaced.")
    calendly_new_invitee_uri = models.TextField(null=True, blank=True, help_text="The booking that replaced this one.")
    rescheduled_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rescheduled_to"
    )
    cancelled_by = choice_field(CancelledBy, max_length=10, blank=True, default="")
    # The policy she accepted for this booking, which decides any fee.
    policy_acceptance = models.ForeignKey(
        BookingPolicyAcceptance, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    # Attendance as the clinician (or Calendly's no-show mark) recorded it.
    attendance_marked_at = models.DateTimeField(null=True, blank=True)
    attendance_marked_by = optional_user_fk()
    no_show_marked_in_calendly_at = models.DateTimeField(null=True, blank=True)
    # Superbill codes the clinician enters (ICD-10 diagnoses, CPT service code).
    diagnosis_codes = ArrayField(models.CharField(max_length=10), blank=True, default=list)
    service_code = models.CharField(max_length=10, blank=True, default="")

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        db_table = "appointment_data"
        verbose_name = "appointment"
        ordering = ["-starts_at"]
        indexes = [
            models.Index(fields=["user", "starts_at"], name="appointment_data_user_starts"),
            models.Index(fields=["status", "starts_at"], name="appointment_data_status_starts"),
            # A day or a week of every status: the admin home's sessions card, the practice calendar.
            models.Index(fields=["starts_at"], name="appointment_data_starts"),
            # The admin's search box: who booked, by address or name (docs/adr/0430).
            search_index("invitee_email", name="appointments_invitee_email_idx"),
            search_index("invitee_name", name="appointments_invitee_name_idx"),
        ]
        constraints = [
            choice_constraint("appointment_data", "status", AppointmentStatus),
            choice_constraint("appointment_data", "cancelled_by", CancelledBy, blank=True),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_data_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.starts_at:%Y-%m-%d %H:%M} UTC ({self.get_status_display()})"


class PaymentKind(models.TextChoices):
    SESSION_FEE = "session_fee", "Session fee"
    NO_SHOW_FEE = "no_show_fee", "No-show fee"
    LATE_CANCEL_FEE = "late_cancel_fee", "Late cancellation fee"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Awaiting the clinician's confirmation"
    CHECKING = "checking", "Checking with Stripe"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    RELEASED = "released", "Released"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"
    WAIVED = "waived", "Waived"


class AppointmentPayment(UUIDModel):
    """One amount authorised, captured or refunded for an appointment (session fee or a fee)."""

    appointment = models.ForeignKey(AppointmentData, on_delete=models.PROTECT, related_name="payments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointment_payments")
    payment = models.ForeignKey(
        "billing.PaymentIntent", on_delete=models.PROTECT, null=True, blank=True, related_name="appointment_payments"
    )
    kind = choice_field(PaymentKind, max_length=20, default=PaymentKind.SESSION_FEE)
    amount = money_field()
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    status = choice_field(PaymentStatus, max_length=20, default=PaymentStatus.AUTHORIZED)
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at_field()
    idempotency_key = models.CharField(
        max_length=120, null=True, blank=True, unique=True, help_text="Built from Bloom's ids; one Stripe call per key."
    )
    released_at = models.DateTimeField(null=True, blank=True)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = optional_user_fk()
    waive_reason = models.TextField(blank=True, default="")
    failure_message = models.TextField(blank=True, default="", help_text="In Bloom's words, never Stripe's.")
    capture_amount = money_field(
        null=True,
        blank=True,
        help_text="What the clinician asked to take of the hold (a partial capture); kept for the retry when Stripe did not answer.",
    )

    class Meta:
        db_table = "appointment_payments"
        ordering = ["-created_at"]
        indexes = [PostgresIndex(fields=["-created_at"], name="idx_appointment_payments_created_at")]
        constraints = [
            choice_constraint("appointment_payments", "kind", PaymentKind),
            choice_constraint("appointment_payments", "status", PaymentStatus),
            not_negative("appointment_payments", "amount"),
            # At most one live charge of each kind per appointment.
            models.UniqueConstraint(
                fields=["appointment", "kind"],
                condition=Q(status__in=["pending", "checking", "authorized", "captured"]),
                name="appointment_payments_one_live_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency.upper()} ({self.status})"


# A reminder's kind is its offset label ("48h", "2h", "90m", "2d"; BLOOM_APPOINTMENT_REMINDER_OFFSETS).
# The first offsets were "24h" and "1h", so rows written before offsets were configurable match too.
REMINDER_KIND_PATTERN = r"^[1-9][0-9]{0,3}[mhd]$"


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email"
    PORTAL = "portal", "Portal notice"


class AppointmentReminderLog(UUIDModel):
    """One reminder for an appointment's time on one channel, claimed before it is sent (never
    twice: unique per kind, channel and session time; a session moved to a new time gets its
    reminders again). A reminder not sent on purpose is kept with `skipped_reason`."""

    appointment = models.ForeignKey(AppointmentData, on_delete=models.CASCADE, related_name="reminder_logs")
    kind = models.CharField(max_length=8, help_text="The offset before the session, e.g. 48h or 2h.")
    channel = choice_field(ReminderChannel, max_length=10)
    session_starts_at = models.DateTimeField(
        null=True, blank=True, help_text="The session time this reminder was for (it may have moved since)."
    )
    sent_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    email_queue_id = models.UUIDField(null=True, blank=True, help_text="The email_queue row, for the email channel.")
    notification_id = models.UUIDField(null=True, blank=True, help_text="The user_notifications row, for the portal.")
    skipped_reason = models.TextField(
        blank=True, default="", help_text="Why this reminder was not sent, if it was not."
    )

    class Meta:
        db_table = "appointment_reminder_logs"
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "channel", "session_starts_at"],
                name="appointment_reminder_logs_once",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(kind__regex=REMINDER_KIND_PATTERN), name="appointment_reminder_logs_kind_valid"
            ),
            choice_constraint("appointment_reminder_logs", "channel", ReminderChannel),
        ]

    def __str__(self) -> str:
        if self.skipped_reason:
            return f"{self.kind} reminder not sent ({self.skipped_reason})"
        return f"{self.kind} reminder by {self.channel}"


class NoteTemplate(models.TextChoices):
    SOAP = "soap", "SOAP (subjective, objective, assessment, plan)"
    DAP = "dap", "DAP (data, assessment, plan)"
    FREE = "free", "Free text"


# The headings a new note starts from, per template (the clinician writes under them).
NOTE_TEMPLATE_BODIES = {
    NoteTemplate.SOAP: "Subjective:\n\nObjective:\n\nAssessment:\n\nPlan:\n",
    NoteTemplate.DAP: "Data:\n\nAssessment:\n\nPlan:\n",
    NoteTemplate.FREE: "",
}


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed and locked"


class SessionNote(TimeStampedModel):
    """One therapist's clinical note on a session; the body is encrypted at rest.

    A draft may be rewritten; once signed the body is locked and changes are addenda
    (`session_note_versions` rows of kind "addendum"). Every body ever saved is a version row.
    """

    appointment = models.OneToOneField(AppointmentData, on_delete=models.PROTECT, related_name="session_note")
    therapist = models.ForeignKey(TherapistProfile, on_delete=models.PROTECT, related_name="session_notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="authored_session_notes"
    )
    body = EncryptedTextField()
    template = choice_field(NoteTemplate, max_length=10, default=NoteTemplate.FREE, db_default=True)
    status = choice_field(NoteStatus, max_length=10, default=NoteStatus.DRAFT, db_default=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = optional_user_fk()

    class Meta:
        db_table = "session_notes"
        ordering = ["-created_at"]
        constraints = [
            choice_constraint("session_notes", "template", NoteTemplate),
            choice_constraint("session_notes", "status", NoteStatus),
            models.CheckConstraint(
                condition=Q(status="draft", signed_at__isnull=True) | Q(status="signed", signed_at__isnull=False),
                name="session_notes_signed_has_time",
            ),
        ]

    def __str__(self) -> str:
        # Never the body: this string appears in admin lists and audit rows.
        return f"Session note {str(self.pk)[:8]}"

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED


class NoteVersionKind(models.TextChoices):
    DRAFT = "draft", "Draft saved"
    SIGNED = "signed", "Signed"
    ADDENDUM = "addendum", "Addendum"


class SessionNoteVersion(UUIDModel):
    """One body a note ever had (each draft save, the signed text) or one addendum after signing.

    Append-only: services insert, nothing updates or deletes. The body is encrypted like the note's.
    """

    note = models.ForeignKey(SessionNote, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(help_text="1, 2, 3 ... in the order they were written.")
    kind = choice_field(NoteVersionKind, max_length=10)
    body = EncryptedTextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = created_at_field()

    class Meta:
        db_table = "session_note_versions"
        ordering = ["note", "number"]
        constraints = [
            models.UniqueConstraint(fields=["note", "number"], name="session_note_versions_number_uniq"),
            choice_constraint("session_note_versions", "kind", NoteVersionKind),
        ]

    def __str__(self) -> str:
        return f"Version {self.number} ({self.kind}) of session note {str(self.note_id)[:8]}"


class CalendlyWebhookEvent(WebhookEventBase):
    """One Calendly webhook delivery, stored before processing (key: see docs/adr/0061)."""

    event_uuid = models.TextField(unique=True)
    # The invitee's answers to the booking questions (intake: health information), taken out of
    # `event_data` before it is stored and kept here encrypted (docs/adr/0330).
    intake_answers = EncryptedJSONField(null=True, blank=True)

    class Meta(WebhookEventBase.Meta):
        db_table = "calendly_webhook_events"
        indexes = [
            models.Index(fields=["created_at"], condition=Q(processed=False), name="calendly_events_pending_idx"),
        ]
