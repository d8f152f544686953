"""Members, their profile and preferences, staff accounts and security records."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from bloom.models import TimeStampedModel, UUIDModel, created_at_field, uuid_pk


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

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email.split("@")[0]


class Stage(models.TextChoices):
    PREGNANT = "pregnant", "Pregnant"
    POSTPARTUM = "postpartum", "Postpartum"
    OTHER = "other", "Other"


class UserProfile(TimeStampedModel):
    """One row per user: who they are, where they are in onboarding, consent."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    preferred_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    due_date = models.DateField(null=True, blank=True)
    baby_birth_date = models.DateField(null=True, blank=True)
    topics = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    timezone = models.CharField(max_length=64, default="America/Los_Angeles")
    onboarding_step = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Seed section 3 columns.
    email_verified = models.BooleanField(default=False, db_default=False)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    onboarding_completed = models.BooleanField(default=False, db_default=False)
    onboarding_completed_at = models.DateTimeField(null=True, blank=True)
    referral_source = models.TextField(null=True, blank=True)
    marketing_consent = models.BooleanField(default=False, db_default=True)

    class Meta:
        db_table = "user_profiles"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage="") | models.Q(stage__in=[s.value for s in Stage]),
                name="user_profiles_stage_valid",
            ),
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
    notification_channel = models.CharField(
        max_length=20, choices=NotificationChannel.choices, default=NotificationChannel.PORTAL_AND_EMAIL
    )
    appointment_reminders = models.BooleanField(default=True, db_default=True)
    workshop_reminders = models.BooleanField(default=True, db_default=True)
    course_updates = models.BooleanField(default=True, db_default=True)
    wellness_reminders = models.BooleanField(default=False, db_default=False)
    newsletter = models.BooleanField(default=False, db_default=False)

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
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, default="")
    path = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, db_default={}, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), db_index=True)

    class Meta:
        db_table = "security_events"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.created_at:%Y-%m-%d %H:%M}"
