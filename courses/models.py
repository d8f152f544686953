"""Courses: the catalog (courses, modules, lessons, resources), who bought what, and progress."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bloom.fields import choice_constraint, choice_field, money_field, not_negative, optional_user_fk
from bloom.models import DbNow, SoftDeleteModel, TimeStampedModel, UUIDModel, created_at_field

MILESTONE_PERCENTS = (25, 50, 75, 100)

# Only embed players of these hosts may appear in a lesson (docs/courses.md).
VIDEO_EMBED_PATTERNS = (
    re.compile(r"^https://(www\.)?youtube(-nocookie)?\.com/embed/[A-Za-z0-9_-]{6,20}(\?[A-Za-z0-9_=&-]*)?$"),
    re.compile(r"^https://player\.vimeo\.com/video/\d{3,12}(\?[A-Za-z0-9_=&-]*)?$"),
)


def video_url_is_allowed(url: str) -> bool:
    return any(pattern.match(url) for pattern in VIDEO_EMBED_PATTERNS)


def validate_video_url(url: str) -> None:
    if url and not video_url_is_allowed(url):
        raise ValidationError(
            "Use a YouTube or Vimeo embed address, e.g. https://www.youtube.com/embed/VIDEO_ID "
            "or https://player.vimeo.com/video/123456."
        )


class PublishStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Course(TimeStampedModel, SoftDeleteModel):
    """One course in the catalog: its title, price and whether it is published."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    subtitle = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    instructor_name = models.CharField(max_length=200, blank=True)
    price = money_field(zero_default=True, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    status = choice_field(PublishStatus, max_length=20, default=PublishStatus.DRAFT, db_default=True)
    published_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0, db_default=0, help_text="Order in the catalog.")
    created_by = optional_user_fk()
    access_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Members keep access this many days after enrolling (empty: for good)."
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "courses"
        ordering = ["position", "title"]
        indexes = [models.Index(fields=["title"], name="courses_title_idx")]  # the admin's lists by title
        constraints = [
            choice_constraint("courses", "status", PublishStatus),
            not_negative("courses", "price"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def is_published(self) -> bool:
        return self.status == PublishStatus.PUBLISHED

    def published_lesson_count(self) -> int:
        """Lessons a member would see: published, in a module and lesson that are not archived."""
        if self.pk is None:
            return 0
        return CourseLesson.objects.filter(
            module__course=self, module__archived_at__isnull=True, status=PublishStatus.PUBLISHED
        ).count()

    def publish_refusal(self) -> str | None:
        """Why this course cannot be published now (None: it can). Publishing guard, issue 14 point 6."""
        if not self.published_lesson_count():
            return (
                f'"{self.title}" has no published lessons yet, so it cannot be published: '
                "members would enroll in an empty course. Publish at least one lesson first."
            )
        return None

    def clean(self):
        super().clean()
        becomes_published = self.is_published and (
            self.pk is None or not Course.all_objects.filter(pk=self.pk, status=PublishStatus.PUBLISHED).exists()
        )
        if becomes_published and (refusal := self.publish_refusal()):
            raise ValidationError({"status": refusal})


class CourseModule(TimeStampedModel, SoftDeleteModel):
    """One module (a week or section) of a course; it may open some days after enrollment."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, db_default=0)
    drip_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Opens this many days after enrollment (empty: open at once)."
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "course_modules"
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["course", "position"], name="course_modules_course_pos")]

    def __str__(self) -> str:
        return self.title

    def opens_at(self, enrolled_at):
        if not self.drip_days or enrolled_at is None:
            return None
        return enrolled_at + timedelta(days=self.drip_days)


class CourseLesson(TimeStampedModel, SoftDeleteModel):
    """One lesson of a module: HTML slides, an optional video, a duration."""

    module = models.ForeignKey(CourseModule, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    slides = models.JSONField(default=list, blank=True, help_text="A list of slide HTML strings (sanitised).")
    video_url = models.URLField(blank=True, validators=[validate_video_url])
    duration_minutes = models.PositiveIntegerField(default=0, db_default=0)
    position = models.PositiveIntegerField(default=0, db_default=0)
    is_preview = models.BooleanField(
        default=False, db_default=False, help_text="Anyone may open a free preview lesson."
    )
    status = choice_field(PublishStatus, max_length=20, default=PublishStatus.DRAFT, db_default=True)

    class Meta(SoftDeleteModel.Meta):
        db_table = "course_lessons"
        ordering = ["position", "created_at"]
        constraints = [choice_constraint("course_lessons", "status", PublishStatus)]
        indexes = [models.Index(fields=["module", "position"], name="course_lessons_module_pos")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == PublishStatus.PUBLISHED


def resource_upload_to(instance: CourseResource, filename: str) -> str:
    # An unguessable folder: files are served only by the access-checking view.
    return f"private/course_resources/{uuid.uuid4().hex}/{filename}"


class CourseResource(TimeStampedModel, SoftDeleteModel):
    """One downloadable file of a course (worksheet, audio, PDF), optionally tied to a lesson."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="resources")
    lesson = models.ForeignKey(CourseLesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="resources")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    file = models.FileField(upload_to=resource_upload_to, max_length=500)
    position = models.PositiveIntegerField(default=0, db_default=0)

    class Meta(SoftDeleteModel.Meta):
        db_table = "course_resources"
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title

    @property
    def filename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""


class CourseContentVersion(UUIDModel):
    """One saved state of a lesson: who changed it, when, and a snapshot of title, slides and video."""

    lesson = models.ForeignKey(CourseLesson, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    change_summary = models.CharField(max_length=300, blank=True)
    changed_by = optional_user_fk()
    created_at = created_at_field()

    class Meta:
        db_table = "course_content_versions"
        ordering = ["lesson", "-version_number"]
        constraints = [
            models.UniqueConstraint(fields=["lesson", "version_number"], name="course_content_versions_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.lesson} v{self.version_number}"


class CourseUser(UUIDModel):
    """One course purchase from the legacy shop (by email), linked to a user once they verify that email."""

    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="legacy_customers")
    purchased_at = models.DateTimeField(default=timezone.now)
    amount_paid = money_field(default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    source = models.CharField(max_length=100, blank=True, help_text="Where the purchase came from (legacy shop).")
    auth_user = optional_user_fk(related_name="course_purchases")
    linked_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at_field()

    class Meta:
        db_table = "course_users"
        ordering = ["-purchased_at"]
        constraints = [models.UniqueConstraint(fields=["email", "course"], name="course_users_email_course_unique")]

    def __str__(self) -> str:
        return f"{self.email} · {self.course_id}"

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAID = "paid", "Paid"
    FREE = "free", "Free"
    FAILED = "failed", "Payment failed"
    REFUNDED = "refunded", "Refunded"


ACCESS_STATUSES = (PaymentStatus.PAID, PaymentStatus.FREE)


class EnrollmentQuerySet(models.QuerySet):
    def with_access(self):
        return self.filter(payment_status__in=ACCESS_STATUSES, access_revoked_at__isnull=True).filter(
            Q(access_expires_at__isnull=True) | Q(access_expires_at__gt=models.functions.Now())
        )


class CourseEnrollment(TimeStampedModel):
    """One member's place in one course: how they paid, whether they have access, how far they are."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    payment_status = choice_field(PaymentStatus, max_length=20, default=PaymentStatus.PENDING, db_default=True)
    amount_paid = money_field(zero_default=True)
    amount_refunded = money_field(zero_default=True)
    currency = models.CharField(max_length=3, default="usd", db_default="usd")
    payment_id = models.UUIDField(
        null=True, blank=True, help_text="The billing payment that granted access (payment_intents.id)."
    )
    # Seed section 3 columns.
    discount_code_used = models.TextField(null=True, blank=True)
    discount_amount = money_field(null=True, blank=True)
    affiliate_id = models.TextField(null=True, blank=True)
    access_revoked_at = models.DateTimeField(null=True, blank=True)
    # Set at the first grant when the course has `access_days`; a member's pause moves it later.
    access_expires_at = models.DateTimeField(null=True, blank=True)

    enrolled_at = models.DateTimeField(null=True, blank=True, help_text="First time access was granted.")
    progress_percent = models.PositiveSmallIntegerField(default=0, db_default=0)
    lessons_completed = models.PositiveIntegerField(default=0, db_default=0)
    last_milestone_percent = models.PositiveSmallIntegerField(default=0, db_default=0)
    last_lesson = models.ForeignKey(CourseLesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        db_table = "course_enrollments"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="course_enrollments_user_course_unique"),
            choice_constraint("course_enrollments", "payment_status", PaymentStatus),
            models.CheckConstraint(
                condition=Q(progress_percent__gte=0, progress_percent__lte=100),
                name="course_enrollments_percent_range",
            ),
        ]
        indexes = [
            models.Index(fields=["course", "payment_status"], name="course_enrollments_course_st"),
            # The admin's enrollment and stats lists, newest first, read a page of rows, not all.
            models.Index(F("enrolled_at").desc(nulls_last=True), name="course_enrollments_enrolled"),
            # course_overview's figures per course from the index alone (an index-only scan).
            models.Index(
                fields=["course"],
                include=["payment_status", "access_revoked_at", "completed_at", "amount_paid", "amount_refunded"],
                name="course_enrollments_figures",
            ),
            # The admin's search for a code or an affiliate, matched whole (few rows carry either).
            models.Index(
                fields=["discount_code_used"], name="course_enrollments_code", condition=Q(discount_code_used__gt="")
            ),
            models.Index(
                fields=["affiliate_id"], name="course_enrollments_affiliate", condition=Q(affiliate_id__gt="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_id}"

    @property
    def has_access(self) -> bool:
        return (
            self.payment_status in ACCESS_STATUSES
            and self.access_revoked_at is None
            and (self.access_expires_at is None or self.access_expires_at > timezone.now())
        )

    @property
    def closed_by_staff(self) -> bool:
        """Access ended by staff (still paid or free), not by a refund: only staff reopen it."""
        return self.payment_status in ACCESS_STATUSES and self.access_revoked_at is not None


class DiscountType(models.TextChoices):
    PERCENTAGE = "percentage", "Percentage"
    FIXED = "fixed", "Fixed amount"


class CourseDiscountCode(UUIDModel):
    """One discount code: percent or fixed amount off one course (or every course), with a use limit."""

    # Seed section 3 columns, plus is_active.
    code = models.TextField(unique=True)
    discount_type = choice_field(DiscountType, null=True)
    discount_value = money_field(validators=[MinValueValidator(0)])
    course = models.ForeignKey(
        Course,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="discount_codes",
        help_text="Empty: the code works for every course.",
    )
    max_uses = models.IntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    uses_count = models.IntegerField(null=True, default=0, db_default=0, editable=False)
    valid_from = models.DateTimeField(null=True, blank=True, default=timezone.now, db_default=DbNow())
    valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, default=timezone.now, db_default=DbNow(), editable=False)
    # Added to the seed's columns: staff switch a code off without deleting it (a used code cannot be deleted).
    is_active = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Untick to switch the code off at once (members are told it is inactive).",
    )

    class Meta:
        db_table = "course_discount_codes"
        ordering = ["code"]
        constraints = [
            choice_constraint(
                "course_discount_codes", "discount_type", DiscountType, name="course_discount_codes_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses_count__lte=F("max_uses")),
                name="course_discount_codes_uses_within_max",
            ),
            models.CheckConstraint(
                condition=~Q(discount_type=DiscountType.PERCENTAGE) | Q(discount_value__lte=100),
                name="course_discount_codes_percent_max_100",
            ),
            not_negative("course_discount_codes", "discount_value", name="course_discount_codes_value_positive"),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = normalise_code(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        price_refusal = self.fixed_amount_refusal()
        if price_refusal:
            raise ValidationError({"discount_value": price_refusal})

    def fixed_amount_refusal(self) -> str | None:
        """Why a fixed amount is too large (None: it fits). A code for one course may take at most
        its price off; a code for every course at most the price of the dearest course."""
        if self.discount_type != DiscountType.FIXED or self.discount_value is None:
            return None
        if self.course_id is not None:
            course = Course.all_objects.filter(pk=self.course_id).only("title", "price").first()
            if course is not None and self.discount_value > course.price:
                return (
                    f"A fixed discount of {self.discount_value} is more than the price of "
                    f'"{course.title}" ({course.price}). Enter at most {course.price}, or use a percentage.'
                )
            return None
        dearest = Course.objects.order_by("-price").values_list("price", flat=True).first()
        if dearest is not None and self.discount_value > dearest:
            return (
                f"A fixed discount of {self.discount_value} is more than the price of every course "
                f"(the dearest is {dearest}). Enter at most {dearest}, or use a percentage."
            )
        return None

    def discount_for(self, price: Decimal) -> Decimal:
        """The amount taken off `price` (never more than the price)."""
        if self.discount_type == DiscountType.PERCENTAGE:
            off = (price * self.discount_value / Decimal(100)).quantize(Decimal("0.01"))
        else:
            off = self.discount_value
        return min(max(off, Decimal("0.00")), price)


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


class ProgressStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class CourseProgress(TimeStampedModel):
    """One member's state in one lesson of an enrollment: opened, completed, where they stopped."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_progress")
    enrollment = models.ForeignKey(CourseEnrollment, on_delete=models.PROTECT, related_name="progress")
    lesson = models.ForeignKey(CourseLesson, on_delete=models.PROTECT, related_name="progress")
    status = choice_field(ProgressStatus, max_length=20, default=ProgressStatus.IN_PROGRESS, db_default=True)
    last_slide_index = models.PositiveIntegerField(default=0, db_default=0)
    first_viewed_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    last_viewed_at = models.DateTimeField(default=timezone.now, db_default=DbNow())
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "course_progress"
        verbose_name_plural = "course progress"
        ordering = ["-last_viewed_at"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "lesson"], name="course_progress_enrollment_lesson_unique"),
            choice_constraint("course_progress", "status", ProgressStatus),
        ]
        indexes = [
            models.Index(
                fields=["user", "status"], name="idx_course_progress_completed", condition=Q(status="completed")
            ),
            # The admin's progress list, last viewed first: a page of 4.9 M rows at 100x, not a sort.
            models.Index(fields=["last_viewed_at"], name="course_progress_viewed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.lesson_id}: {self.status}"


class LessonCompletionDetail(UUIDModel):
    """The detail behind one progress row: time spent, slides seen, views, when it was completed."""

    progress = models.OneToOneField(CourseProgress, on_delete=models.CASCADE, related_name="detail")
    time_spent_seconds = models.PositiveIntegerField(default=0, db_default=0)
    slides_seen = models.JSONField(default=list, blank=True, help_text="Indexes of the slides the member saw.")
    slides_total = models.PositiveIntegerField(default=0, db_default=0)
    view_count = models.PositiveIntegerField(default=0, db_default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=DbNow())

    class Meta:
        db_table = "lesson_completion_details"

    def __str__(self) -> str:
        return f"Detail of {self.progress_id}"


class CourseMilestone(UUIDModel):
    """One milestone (25, 50, 75 or 100 percent) a member reached in an enrollment."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(CourseEnrollment, on_delete=models.PROTECT, related_name="milestones")
    percent = models.PositiveSmallIntegerField()
    reached_at = created_at_field()

    class Meta:
        db_table = "course_milestones"
        ordering = ["enrollment", "percent"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "percent"], name="course_milestones_unique"),
            models.CheckConstraint(condition=Q(percent__in=MILESTONE_PERCENTS), name="course_milestones_percent_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.percent}% of {self.enrollment_id}"


class ActivityType(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    ACCESS_GRANTED = "access_granted", "Access granted"
    ACCESS_REVOKED = "access_revoked", "Access revoked"
    PARTIAL_REFUND = "partial_refund", "Partial refund"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    DISCOUNT_OVERRUN = "discount_overrun", "Discount code used up before payment"
    LESSON_VIEWED = "lesson_viewed", "Lesson viewed"
    LESSON_COMPLETED = "lesson_completed", "Lesson completed"
    MILESTONE_REACHED = "milestone_reached", "Milestone reached"
    COURSE_COMPLETED = "course_completed", "Course completed"
    CERTIFICATE_ISSUED = "certificate_issued", "Certificate issued"


class CourseActivityLog(UUIDModel):
    """One thing a member did or had happen in a course (viewed, completed, paid, refunded ...)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(CourseEnrollment, on_delete=models.PROTECT, related_name="activity")
    lesson = models.ForeignKey(CourseLesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    activity_type = choice_field(ActivityType, max_length=30)
    details = models.JSONField(default=dict, db_default={}, blank=True)
    created_at = created_at_field()

    class Meta:
        db_table = "course_activity_log"
        ordering = ["-created_at"]
        constraints = [
            choice_constraint(
                "course_activity_log", "activity_type", ActivityType, name="course_activity_log_type_valid"
            )
        ]
        indexes = [models.Index(fields=["enrollment", "-created_at"], name="course_activity_enr_created")]

    def __str__(self) -> str:
        return f"{self.activity_type} by {self.user_id}"


class CourseCertificate(UUIDModel):
    """The certificate one member earned by completing one course, verifiable by its code."""

    enrollment = models.OneToOneField(CourseEnrollment, on_delete=models.PROTECT, related_name="certificate")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_certificates")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    verification_code = models.CharField(max_length=64, unique=True, editable=False)
    certificate_name = models.CharField(max_length=200, help_text="The name printed on the certificate.")
    name_confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField()
    issued_at = created_at_field()
    download_count = models.PositiveIntegerField(default=0, db_default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    class Meta:
        db_table = "course_certificates"
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"Certificate {self.verification_code}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class CourseOverview(models.Model):
    """One course's figures (read-only view `course_overview`): modules, lessons, enrollments, completions, revenue."""

    replica_reads = True  # report reads go to DATABASE_REPLICA_URL when set (bloom.dbrouter)

    course = models.OneToOneField(
        Course, on_delete=models.DO_NOTHING, primary_key=True, db_column="course_id", related_name="+"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    archived_at = models.DateTimeField(null=True)
    modules_count = models.IntegerField()
    lessons_count = models.IntegerField()
    enrollments_count = models.IntegerField()
    completions_count = models.IntegerField()
    completion_rate = models.DecimalField(max_digits=5, decimal_places=1)
    revenue = money_field()

    class Meta:
        managed = False
        db_table = "course_overview"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class UserCourseStats(models.Model):
    """One member's figures in one enrolled course (read-only view `user_course_stats`)."""

    replica_reads = True  # report reads go to DATABASE_REPLICA_URL when set (bloom.dbrouter)

    enrollment = models.OneToOneField(
        CourseEnrollment, on_delete=models.DO_NOTHING, primary_key=True, db_column="enrollment_id", related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.DO_NOTHING, related_name="+")
    has_access = models.BooleanField()
    lessons_total = models.IntegerField()
    lessons_completed = models.IntegerField()
    percent = models.IntegerField()
    time_spent_seconds = models.BigIntegerField()
    last_activity_at = models.DateTimeField(null=True)
    enrolled_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "user_course_stats"
        ordering = ["-last_activity_at"]
        verbose_name_plural = "user course stats"

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_id}"

    @property
    def time_spent_minutes(self) -> int:
        return round(self.time_spent_seconds / 60)
