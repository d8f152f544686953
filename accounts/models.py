"""Members, their profile and preferences, staff accounts and security records."""

import datetime

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, Permission, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from bloom.crypto import EncryptedDateField, EncryptedDecimalField, EncryptedIntegerField, EncryptedTextField
from bloom.fields import (
    choice_constraint,
    choice_field,
    iexact_index,
    ip_address_field,
    optional_user_fk,
    search_index,
)
from bloom.models import DbNow, TimeStampedModel, UUIDModel, created_at_field, uuid_pk


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who can sign in: a member, or staff when `is_staff` (stands in for auth.users)."""

    id = uuid_pk()
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = created_at_field()

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        indexes = [
            iexact_index("email", name="users_email_upper_idx"),
            search_index("email", name="users_email_search_idx"),
            search_index("first_name", name="users_first_search_idx"),
            search_index("last_name", name="users_last_search_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email.split("@")[0]


class Stage(models.TextChoices):
    PREGNANT = "pregnant", "Pregnant"
    POSTPARTUM = "postpartum", "Postpartum"
    LOSS = "loss", "After a pregnancy or infant loss"
    OTHER = "other", "Other"


class UserProfile(TimeStampedModel):
    """One row per user: who they are, where they are in onboarding, consent."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    preferred_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    # Health information: where she is in pregnancy or after it, Fernet-encrypted at rest
    # (docs/adr/0330). Never filtered in SQL; screening schedules compute from them in Python.
    stage = EncryptedTextField(choices=Stage.choices, blank=True, default="")
    due_date = EncryptedDateField(null=True, blank=True)
    baby_birth_date = EncryptedDateField(null=True, blank=True)
    topics = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    timezone = models.CharField(max_length=64, default="America/Los_Angeles")
    onboarding_step = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Seed section 3 columns, with the seed's nullability and database defaults. Python
    # code always writes a value; the sign-up form asks for marketing consent explicitly.
    email_verified = models.BooleanField(null=True, default=False, db_default=False)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    onboarding_completed = models.BooleanField(null=True, default=False, db_default=False)
    onboarding_completed_at = models.DateTimeField(null=True, blank=True)
    referral_source = models.TextField(null=True, blank=True)
    marketing_consent = models.BooleanField(null=True, default=False, db_default=True)
    # The versions of the terms and the privacy notice she last agreed to (mirrors of her newest
    # consent records, read on every page so a new version can ask her again; accounts.consent).
    terms_version = models.CharField(max_length=40, blank=True, default="", db_default="")
    privacy_version = models.CharField(max_length=40, blank=True, default="", db_default="")
    # The clinician staff assigned to her; alerts about her go to them first (accounts.risk).
    care_clinician = optional_user_fk(
        limit_choices_to={"is_staff": True},
        help_text="Staff member who receives this member's screening and risk alerts first.",
    )

    class Meta:
        db_table = "user_profiles"
        indexes = [
            search_index("first_name", name="profiles_first_search_idx"),
            search_index("last_name", name="profiles_last_search_idx"),
            search_index("preferred_name", name="profiles_preferred_search_idx"),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user_id}"

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name or self.user.get_short_name()


class NotificationChannel(models.TextChoices):
    PORTAL = "portal", "In the portal only"
    PORTAL_AND_EMAIL = "portal_and_email", "In the portal and by email"


class UserPreferences(TimeStampedModel):
    """One row per user: which notices they want and how."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="preferences")
    notification_channel = choice_field(
        NotificationChannel, max_length=20, default=NotificationChannel.PORTAL_AND_EMAIL
    )
    appointment_reminders = models.BooleanField(default=True, db_default=True)
    workshop_reminders = models.BooleanField(default=True, db_default=True)
    course_updates = models.BooleanField(default=True, db_default=True)
    wellness_reminders = models.BooleanField(default=False, db_default=False)
    newsletter = models.BooleanField(default=False, db_default=False)
    # Quiet hours (docs/quiet-hours.md): between start and end, in the member's own time zone, her
    # newsletters and gentle nudges wait; crisis, clinical, appointment and account mail never does.
    quiet_hours = models.BooleanField(default=False, db_default=False)
    quiet_hours_start = models.TimeField(default=datetime.time(21, 0), db_default=datetime.time(21, 0))
    quiet_hours_end = models.TimeField(default=datetime.time(8, 0), db_default=datetime.time(8, 0))

    class Meta:
        db_table = "user_preferences"
        verbose_name_plural = "user preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user_id}"

    @property
    def wants_email(self) -> bool:
        return self.notification_channel == NotificationChannel.PORTAL_AND_EMAIL


class AdminRole(TimeStampedModel):
    """A named staff role (owner, clinician, content editor ...) backed by a Django group."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="admin_role")

    class Meta:
        db_table = "admin_roles"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AdminUser(TimeStampedModel):
    """A staff member's back-office record beside their login (`users.is_staff`)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="admin_user")
    display_name = models.CharField(max_length=150)
    role = models.ForeignKey(AdminRole, on_delete=models.PROTECT, null=True, blank=True, related_name="admins")
    is_active = models.BooleanField(default=True, db_default=True)
    last_password_change = models.DateTimeField(null=True, blank=True)
    two_factor_enabled = models.BooleanField(default=False, db_default=False)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "admin_users"
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class SecurityEvent(UUIDModel):
    """Something security-relevant happened: a bad webhook signature, a lockout, an MFA change."""

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    event_type = models.CharField(max_length=64, db_index=True)
    severity = choice_field(Severity, max_length=10, default=Severity.WARNING)
    user = optional_user_fk()
    ip_address = ip_address_field()
    user_agent = models.TextField(blank=True, default="")
    path = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, db_default={}, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=DbNow(), db_index=True)

    class Meta:
        db_table = "security_events"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.created_at:%Y-%m-%d %H:%M}"


# What a member edits on the profile page, in the order the page shows it (forms and services share it).
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "phone",
    "stage",
    "due_date",
    "baby_birth_date",
    "topics",
    "timezone",
)

# The member's notification preferences, in the order the page shows them (forms, services and the export share it).
PREFERENCE_FIELDS = (
    "notification_channel",
    "appointment_reminders",
    "workshop_reminders",
    "course_updates",
    "wellness_reminders",
    "newsletter",
    "quiet_hours",
    "quiet_hours_start",
    "quiet_hours_end",
)

TOPICS = [
    ("anxiety", "Anxiety and worry"),
    ("mood", "Low mood and depression"),
    ("sleep", "Sleep"),
    ("feeding", "Feeding and nourishment"),
    ("birth_recovery", "Birth experience and recovery"),
    ("relationships", "Relationships and support"),
    ("return_to_work", "Returning to work"),
    ("loss", "Pregnancy or infant loss"),
    ("identity", "Identity and becoming a parent"),
]


class UserAchievement(UUIDModel):
    """One award a member earned (e.g. "welcome" for finishing onboarding); each key once per member."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="achievements")
    key = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    awarded_at = created_at_field()

    class Meta:
        db_table = "user_achievements"
        ordering = ["-awarded_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="user_achievements_user_key_uniq")]

    def __str__(self) -> str:
        return f"{self.title} ({self.user_id})"


class WellnessEntry(TimeStampedModel):
    """A member's wellness check-in for one day (mood, sleep, anxiety, energy, support, encrypted notes).

    She may write or edit any of the last 7 days (accounts.services.wellness)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="wellness_entries")
    entry_date = models.DateField()
    # Health information: the scores are Fernet-encrypted at rest (docs/adr/0330), their
    # ranges checked in Python (validators); charts average them in Python.
    mood = EncryptedIntegerField(min_value=1, max_value=5, help_text="1 (very low) to 5 (very good)")
    sleep_hours = EncryptedDecimalField(
        max_digits=3, decimal_places=1, min_value=0, max_value=24, null=True, blank=True
    )
    anxiety = EncryptedIntegerField(
        min_value=1, max_value=5, null=True, blank=True, help_text="1 (calm) to 5 (very anxious)"
    )
    energy = EncryptedIntegerField(
        min_value=1, max_value=5, null=True, blank=True, help_text="1 (exhausted) to 5 (energetic)"
    )
    support = EncryptedIntegerField(
        min_value=1,
        max_value=5,
        null=True,
        blank=True,
        help_text="How supported she felt: 1 (alone) to 5 (well supported)",
    )
    # Health information: Fernet-encrypted at rest (docs/adr/0011); staff reads are audited.
    notes = EncryptedTextField(blank=True, default="")

    class Meta:
        db_table = "wellness_entries"
        ordering = ["-entry_date"]
        verbose_name_plural = "wellness entries"
        constraints = [
            models.UniqueConstraint(fields=["user", "entry_date"], name="wellness_entries_user_date_uniq"),
        ]

    def __str__(self) -> str:
        return f"Wellness {self.entry_date} ({self.user_id})"


class AdminSession(UUIDModel):
    """One staff sign-in session, from login to logout (or until it goes quiet)."""

    admin_user = models.ForeignKey(AdminUser, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, db_index=True)
    ip_address = ip_address_field()
    user_agent = models.TextField(blank=True, default="")
    created_at = created_at_field()
    last_seen_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "admin_sessions"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.admin_user} from {self.created_at:%Y-%m-%d %H:%M}"


class AdminAction(models.TextChoices):
    ADD = "add", "Added"
    CHANGE = "change", "Changed"
    DELETE = "delete", "Deleted"
    VIEW_HEALTH = "view_health", "Read health information"


class AdminActivityLog(UUIDModel):
    """One staff action in the back office: an add, change or delete, or a read of health information."""

    admin_user = models.ForeignKey(AdminUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="activity")
    user = optional_user_fk()
    action = choice_field(AdminAction, max_length=20)
    object_type = models.CharField(max_length=100, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField(max_length=200, blank=True, default="")
    changes = models.JSONField(default=dict, db_default={}, blank=True)
    ip_address = ip_address_field()
    # Django admin's own LogEntry this row mirrors; unique so a mirror runs at most once.
    log_entry = models.OneToOneField(
        "admin.LogEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = created_at_field(db_index=True)

    class Meta:
        db_table = "admin_activity_log"
        ordering = ["-created_at"]
        verbose_name_plural = "admin activity log"
        indexes = [models.Index(fields=["object_type", "object_id"], name="admin_activity_object_idx")]
        constraints = [
            choice_constraint("admin_activity_log", "action", AdminAction),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_repr}"


class AdminRolePermission(UUIDModel):
    """One Django permission granted to a staff role (mirrored onto the role's group)."""

    role = models.ForeignKey(AdminRole, on_delete=models.CASCADE, related_name="role_permissions")
    permission = models.ForeignKey(Permission, on_delete=models.CASCADE, related_name="+")
    created_at = created_at_field()

    class Meta:
        db_table = "admin_role_permissions"
        ordering = ["role", "permission"]
        constraints = [
            models.UniqueConstraint(fields=["role", "permission"], name="admin_role_permissions_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.permission.codename}"


class ConsentKind(models.TextChoices):
    MARKETING = "marketing", "Marketing email"
    TERMS = "terms", "Terms of use"
    PRIVACY = "privacy", "Privacy notice"
    HEALTH_DATA = "health_data", "Processing of health information"
    BOOKING_POLICY = "booking_policy", "Cancellation and no-show policy"
    TELEHEALTH = "telehealth", "Telehealth sessions"


# Consent switches: for these sources the newest record is her current choice (docs/accounts.md).
WELLNESS_SHARE_SOURCE = "wellness_share"  # her check-ins, shared with her clinician
CARE_PROGRESS_SHARE_SOURCE = "care_progress_share"  # her progress on what her therapist suggested


class ConsentRecord(UUIDModel):
    """One consent a member gave or withdrew, with where and when (append-only evidence)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="consent_records")
    email = models.EmailField(
        max_length=254,
        blank=True,
        default="",
        help_text="The address it was given for (newsletter without an account).",
    )
    kind = choice_field(ConsentKind, max_length=20)
    granted = models.BooleanField()
    source = models.CharField(max_length=40, help_text="Where it was given: signup, onboarding, preferences, admin ...")
    purpose = models.CharField(max_length=300, blank=True, default="", help_text="What she was told it is for.")
    ip_address = ip_address_field()
    user_agent = models.TextField(blank=True, default="")
    text_version = models.CharField(
        max_length=40, blank=True, default="", help_text="Version of the text she agreed to (terms, notice, policy)."
    )
    created_at = created_at_field()

    class Meta:
        db_table = "consent_records"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "kind", "-created_at"], name="consent_records_user_kind_idx")]
        constraints = [
            choice_constraint("consent_records", "kind", ConsentKind),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email=""), name="consent_records_has_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {'granted' if self.granted else 'withdrawn'}"


class DataRequestKind(models.TextChoices):
    EXPORT = "export", "Export my data"
    DELETE = "delete", "Delete my account"


class DataRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    CANCELED = "canceled", "Canceled"


class DataRequest(UUIDModel):
    """A member's request for an export of their data or for deletion of their account."""

    Kind = DataRequestKind
    Status = DataRequestStatus

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_requests")
    kind = choice_field(DataRequestKind, max_length=10)
    status = choice_field(DataRequestStatus, max_length=12, default=DataRequestStatus.PENDING)
    requested_at = created_at_field()
    completed_at = models.DateTimeField(null=True, blank=True)
    processed_by = optional_user_fk()
    staff_note = models.TextField(blank=True, default="")
    # The JSON the member downloads once an export is completed.
    export_data = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "data_requests"
        ordering = ["-requested_at"]
        constraints = [
            choice_constraint("data_requests", "kind", DataRequestKind),
            choice_constraint("data_requests", "status", DataRequestStatus),
            # At most one open request of each kind per member.
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(status="pending"),
                name="data_requests_one_open_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


# --- Screening on the perinatal timeline, and crisis routing (docs/adr/0100-0104) ----------


class ScreeningInstrument(models.TextChoices):
    """The validated questionnaires of accounts/screening.py (keys match its INSTRUMENTS)."""

    EPDS = "epds", "EPDS"
    PHQ9 = "phq9", "PHQ-9"
    GAD7 = "gad7", "GAD-7"


# Screening points sit on one of the two timelines that have a date to count from.
TIMELINE_STAGES = [(Stage.PREGNANT.value, Stage.PREGNANT.label), (Stage.POSTPARTUM.value, Stage.POSTPARTUM.label)]


class ScreeningSchedulePoint(TimeStampedModel):
    """A point on the perinatal timeline where a screening is offered; staff edit these in the admin."""

    name = models.CharField(max_length=80, help_text='What the member reads, e.g. "Six weeks after birth".')
    stage = models.CharField(max_length=20, choices=TIMELINE_STAGES)
    week = models.PositiveSmallIntegerField(help_text="Week of pregnancy, or full weeks since the birth.")
    instrument = choice_field(ScreeningInstrument, max_length=10, default=ScreeningInstrument.EPDS)
    window_weeks = models.PositiveSmallIntegerField(
        default=4, help_text="How many weeks the screening stays offered after the point is reached."
    )
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "screening_schedule_points"
        # "pregnant" sorts after "postpartum": descending puts pregnancy first, as on the timeline.
        ordering = ["-stage", "week", "instrument"]
        constraints = [
            choice_constraint("screening_points", "stage", [Stage.PREGNANT, Stage.POSTPARTUM]),
            choice_constraint("screening_points", "instrument", ScreeningInstrument),
            models.CheckConstraint(
                condition=(models.Q(stage=Stage.PREGNANT) & models.Q(week__range=(1, 42)))
                | (models.Q(stage=Stage.POSTPARTUM) & models.Q(week__lte=156)),
                name="screening_points_week_in_range",
            ),
            models.CheckConstraint(condition=models.Q(window_weeks__gte=1), name="screening_points_window_positive"),
            models.UniqueConstraint(fields=["stage", "week", "instrument"], name="screening_points_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_instrument_display()})"


class ScreeningResponse(UUIDModel):
    """One completed questionnaire: encrypted answers, the score and band, and where on her timeline it was taken."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="screening_responses")
    instrument = choice_field(ScreeningInstrument, max_length=10)
    # Health information: {item number: position of the option chosen} as JSON, Fernet-encrypted
    # at rest. Staff see it only when the member shares it, and every read is audited.
    answers = EncryptedTextField()
    # The score, its band and where on her timeline she took it are health information too:
    # encrypted (docs/adr/0330). `urgent` stays plain: crisis routing selects on it.
    total = EncryptedIntegerField(min_value=0, max_value=30)
    band = EncryptedTextField()
    urgent = models.BooleanField(default=False, db_default=False)
    taken_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    perinatal_stage = EncryptedTextField(choices=Stage.choices, default="", blank=True)
    perinatal_week = EncryptedIntegerField(
        min_value=0,
        null=True,
        blank=True,
        help_text="Week of pregnancy, or full weeks since the birth, when she took it.",
    )
    shared_with_clinician = models.BooleanField(
        default=False, db_default=False, help_text="The member's consent to show her answers to her clinician."
    )

    class Meta:
        db_table = "screening_responses"
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["user", "-taken_at"], name="screening_responses_user_idx")]
        constraints = [
            choice_constraint("screening_responses", "instrument", ScreeningInstrument),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.taken_at:%Y-%m-%d}"


class ScreeningPointStatus(models.TextChoices):
    DUE = "due", "Offered"
    SKIPPED = "skipped", "Skipped"
    COMPLETED = "completed", "Completed"


class MemberScreeningPoint(UUIDModel):
    """A schedule point a member has reached, and what became of it (offered, skipped, completed)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="screening_points")
    point = models.ForeignKey(ScreeningSchedulePoint, on_delete=models.CASCADE, related_name="members")
    # The due date or birth date the point was reached from: a new pregnancy reaches the points anew.
    anchor_date = models.DateField()
    status = choice_field(ScreeningPointStatus, max_length=12, default=ScreeningPointStatus.DUE)
    reached_at = created_at_field()
    reminded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_default=DbNow())
    response = models.ForeignKey(ScreeningResponse, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        db_table = "member_screening_points"
        ordering = ["-reached_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "point", "anchor_date"], name="member_screening_points_uniq"),
            choice_constraint("member_screening_points", "status", ScreeningPointStatus),
        ]

    def __str__(self) -> str:
        return f"{self.point} for {self.user_id}: {self.get_status_display()}"


class RiskSource(models.TextChoices):
    SCREENING = "screening", "Screening"
    WELLNESS_NOTE = "wellness_note", "Wellness note"
    CONTACT_FORM = "contact_form", "Contact form"
    CHAT = "chat", "Chat"


class RiskAlert(UUIDModel):
    """A member who may be at risk, waiting for a clinician to acknowledge (the "needs attention" queue).

    Raised by an urgent screening result or a flagged phrase in her own words; never a diagnosis.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="risk_alerts")
    source = choice_field(RiskSource, max_length=20)
    # Why, in staff words, without her answers or her text (those are read, audited, at the source).
    # Why she needs attention (her matched words, the items she answered): encrypted (docs/adr/0330).
    reason = EncryptedTextField()
    screening_response = models.ForeignKey(
        ScreeningResponse, on_delete=models.SET_NULL, null=True, blank=True, related_name="risk_alerts"
    )
    source_object_id = models.CharField(max_length=64, blank=True, default="")
    created_at = created_at_field(db_index=True)
    assigned_clinician = optional_user_fk(help_text="The clinician alerted; empty when the on-call role was.")
    acknowledged_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = EncryptedTextField(blank=True, default="")
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "risk_alerts"
        ordering = ["-created_at"]
        verbose_name = "risk alert"
        verbose_name_plural = "risk alerts (needs attention)"
        indexes = [
            models.Index(
                fields=["created_at"], name="risk_alerts_open_idx", condition=models.Q(acknowledged_at__isnull=True)
            ),
        ]
        constraints = [
            choice_constraint("risk_alerts", "source", RiskSource),
            models.CheckConstraint(
                condition=models.Q(acknowledged_at__isnull=True) | models.Q(acknowledged_by__isnull=False),
                name="risk_alerts_acknowledged_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} alert {self.created_at:%Y-%m-%d %H:%M}"


class MemberPause(UUIDModel):
    """A "life happened" pause (docs/accounts.md): a birth, a hospital stay, a loss.

    While it lasts, course drips, email sequences and non-clinical reminders and nudges are frozen;
    afterwards they resume shifted by exactly the pause. Appointments, clinical mail and crisis
    routing never pause. The row is the record of both ends: `ends_at` is the end she chose,
    `ended_at` when she came back early (one click). Why she paused is health information:
    encrypted, optional.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="pauses")
    starts_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    ends_at = models.DateTimeField(help_text="The end she chose.")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When she came back before the end she chose.")
    reason = EncryptedTextField(blank=True, default="")
    created_at = created_at_field()

    class Meta:
        db_table = "member_pauses"
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["user", "starts_at"], name="member_pauses_user_starts_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="member_pauses_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("starts_at")),
                name="member_pauses_ended_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Pause of {self.user_id} from {self.starts_at:%Y-%m-%d}"

    @property
    def effective_end(self):
        """When the pause stops (or stopped) freezing things: her early return, else the end she chose."""
        return min(self.ended_at, self.ends_at) if self.ended_at else self.ends_at

    @property
    def duration(self):
        return self.effective_end - self.starts_at

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.starts_at <= now < self.effective_end


class AssignmentKind(models.TextChoices):
    COURSE = "course", "Course"
    LESSON = "lesson", "Lesson"
    WORKSHOP = "workshop", "Workshop"


class CareAssignment(UUIDModel):
    """Something a clinician suggests to a client: a lesson, a course or a workshop, with a note.

    The item lives in a higher app (courses, workshops), named by kind and id: accounts may not
    import those apps (docs/accounts.md, "Suggested by your therapist"). Her progress on it is
    shown to the clinician only while she shares it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_assignments")
    clinician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", limit_choices_to={"is_staff": True})
    kind = choice_field(AssignmentKind, max_length=20)
    object_id = models.UUIDField()
    title = models.CharField(max_length=300, help_text="The item's name when it was suggested.")
    # A clinician's words to her client: health information, encrypted at rest.
    note = EncryptedTextField(blank=True, default="")
    created_at = created_at_field()
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "care_assignments"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="care_assignments_user_idx")]
        constraints = [choice_constraint("care_assignments", "kind", AssignmentKind)]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class CalendarFeed(UUIDModel):
    """A member's private calendar feed: her phone subscribes to a secret URL, no sign-in.

    Only a SHA-256 digest of the token is stored (docs/calendar.md, ADR 0185): the URL is shown
    to her once, when it is made or rotated. Rotating replaces the digest, so the old URL stops
    working at once; turning the feed off deletes the row.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = created_at_field()
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "calendar_feeds"

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id}"


class StaffInvitation(UUIDModel):
    """The owner's invitation to a colleague: an address, the role she will have, and a link.

    Only a SHA-256 digest of the link's token is stored; the link is in the invitation email and
    nowhere else. Accepting it makes her staff account with that role and a verified address (the
    link proves the address), then asks for an authenticator before the back office opens.
    """

    email = models.EmailField(max_length=254)
    role = models.ForeignKey(AdminRole, on_delete=models.PROTECT, related_name="invitations")
    invited_by = optional_user_fk()
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = created_at_field()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = optional_user_fk()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "staff_invitations"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "-created_at"], name="idx_staff_invitations_email")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="staff_invitations_accepted_or_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
