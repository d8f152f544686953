"""Writes for courses: enrollment and payment outcomes, discount codes, progress, certificates, content.

Row locks live here: the enrollment row serialises everything that changes one member's
place in a course (payments, refunds, progress); the discount code row serialises its uses.
Notices go through notifications.services in the same transaction (the outbox).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.services import achievement_award
from billing import services as billing_services
from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from notifications import services as notifications

from .content import slides_clean, video_embed_url
from .models import (
    MILESTONE_PERCENTS,
    ActivityType,
    Course,
    CourseActivityLog,
    CourseCertificate,
    CourseContentVersion,
    CourseDiscountCode,
    CourseEnrollment,
    CourseLesson,
    CourseMilestone,
    CourseProgress,
    CourseUser,
    LessonCompletionDetail,
    PaymentStatus,
    ProgressStatus,
    PublishStatus,
    normalise_code,
)

logger = logging.getLogger(__name__)

PURCHASE_KIND = "course_enrollment"
_AFFILIATE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STAFF_CLOSED_MESSAGE = (
    "The practice has closed this course for you. If you would like it reopened, please get in touch with us."
)
MAX_TIME_PER_CALL = 4 * 60 * 60  # seconds one report may add: a tab left open overnight is not study time


# --- Discount codes -------------------------------------------------------------------


class DiscountCodeError(ApplicationError):
    """A discount code cannot be used; the message says why, in words a member understands."""


def _date(value: datetime) -> str:
    return timezone.localtime(value).strftime("%B %-d, %Y")


def discount_code_check(*, code: str, course: Course, now: datetime | None = None) -> CourseDiscountCode:
    """The code if it may be used for `course` now; else DiscountCodeError with the reason.

    Does not take a use: uses are counted only when a payment succeeds (`discount_code_redeem`).
    """
    now = now or timezone.now()
    entered = (code or "").strip()
    found = CourseDiscountCode.objects.filter(code=normalise_code(entered)).first()
    if found is None or not found.discount_type:
        raise DiscountCodeError(f'We don\'t recognise the code "{entered}". Check the spelling and try again.')
    if not found.is_active:
        raise DiscountCodeError(f'The code "{found.code}" is no longer active, so it cannot be used.')
    if found.course_id is not None and found.course_id != course.pk:
        raise DiscountCodeError(f'The code "{found.code}" is for a different course, so it cannot be used here.')
    if found.valid_from is not None and found.valid_from > now:
        raise DiscountCodeError(f'The code "{found.code}" is not valid yet: it starts on {_date(found.valid_from)}.')
    if found.valid_until is not None and found.valid_until <= now:
        raise DiscountCodeError(f'The code "{found.code}" expired on {_date(found.valid_until)}.')
    if found.max_uses is not None and (found.uses_count or 0) >= found.max_uses:
        raise DiscountCodeError(f'The code "{found.code}" has been used up.')
    return found


def discount_code_redeem(*, code: str) -> CourseDiscountCode:
    """Take one use of a code. Locks the code row (select_for_update) and adds one with F().

    Of two payments racing for the last use, the second waits for the first's lock, then
    sees the code used up and gets DiscountCodeError; `uses_count` never passes `max_uses`
    (a check constraint guards that too). Dates are not re-checked: the member was quoted
    the discounted price while the code was valid.
    """
    with transaction.atomic():
        locked = CourseDiscountCode.objects.select_for_update().filter(code=normalise_code(code)).first()
        if locked is None:
            raise DiscountCodeError(f'We don\'t recognise the code "{code}".')
        if locked.max_uses is not None and (locked.uses_count or 0) >= locked.max_uses:
            raise DiscountCodeError(f'The code "{locked.code}" has just been used up.')
        CourseDiscountCode.objects.filter(pk=locked.pk).update(uses_count=Coalesce(F("uses_count"), 0) + 1)
        locked.refresh_from_db(fields=["uses_count"])
        return locked


def affiliate_clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if _AFFILIATE_RE.match(value) else None


# --- Enrollment and payment outcomes --------------------------------------------------


@dataclass(frozen=True)
class EnrollmentStart:
    enrollment: CourseEnrollment
    redirect_url: str
    access_granted: bool


def _activity(*, enrollment: CourseEnrollment, activity_type: str, lesson=None, details: dict | None = None):
    return CourseActivityLog.objects.create(
        user_id=enrollment.user_id,
        enrollment=enrollment,
        lesson=lesson,
        activity_type=activity_type,
        details=details or {},
    )


def _course_url(course: Course) -> str:
    return reverse("courses:course_detail", args=[course.slug])


def _access_grant(
    *, enrollment: CourseEnrollment, status: str, amount_paid: Decimal, payment_id=None, details: dict | None = None
) -> None:
    """Give the member access (caller holds the enrollment lock); notify them and start the sequence."""
    now = timezone.now()
    first_time = enrollment.enrolled_at is None
    enrollment.payment_status = status
    enrollment.amount_paid = amount_paid
    enrollment.amount_refunded = Decimal("0.00")
    enrollment.payment_id = payment_id
    enrollment.access_revoked_at = None
    enrollment.enrolled_at = enrollment.enrolled_at or now
    enrollment.last_activity_at = now
    enrollment.save()
    _activity(
        enrollment=enrollment,
        activity_type=ActivityType.ENROLLED if first_time else ActivityType.ACCESS_GRANTED,
        details={"payment_status": status, "amount_paid": str(amount_paid), **(details or {})},
    )
    course, member = enrollment.course, enrollment.user
    url = _course_url(course)
    notifications.notify(
        member=member,
        type="course_enrolled",
        title=f"You're enrolled in {course.title}",
        message="Your course is ready whenever you are. Go at your own pace.",
        data={"course_id": str(course.pk), "url": url},
        email_template="courses/enrolled",
        email_context={"course_title": course.title, "course_url": absolute_url(url), "first_name": member.first_name},
    )
    notifications.sequence_trigger(
        trigger="course_enrolled",
        email=member.email,
        user=member,
        context={"course_id": str(course.pk), "course_title": course.title, "course_url": url},
    )


def enrollment_start(
    *,
    member,
    course: Course,
    discount_code: str = "",
    affiliate_id: str | None = None,
    success_url: str,
    cancel_url: str,
) -> EnrollmentStart:
    """Enroll the member: a free course at once; a paid one through billing's checkout.

    Idempotent: one enrollment row per member and course (unique key); a member who
    already has access is sent to the course. A code is validated here (DiscountCodeError
    says what is wrong) but its use is counted only when the payment succeeds. A member
    whose access was revoked (refund) may buy again: the same row goes back to pending.
    One whose access staff closed (`enrollment_access_revoke`) may not reopen it themselves.
    When Stripe cannot start the checkout, billing's CheckoutUnavailable propagates (its
    message is for the member) and the enrollment is already marked failed through
    `enrollment_payment_failed`: nothing was charged and the member may simply try again.
    """
    if not course.is_published or course.is_archived:
        raise ApplicationError("This course is not open for enrollment.")
    affiliate = affiliate_clean(affiliate_id)
    code = discount_code_check(code=discount_code, course=course) if (discount_code or "").strip() else None
    if code is not None and course.is_free:
        code = None
    with transaction.atomic():
        enrollment, _ = CourseEnrollment.objects.select_for_update().get_or_create(
            user=member, course=course, defaults={"currency": course.currency}
        )
        enrollment.course, enrollment.user = course, member
        if enrollment.has_access:
            return EnrollmentStart(enrollment=enrollment, redirect_url=_course_url(course), access_granted=True)
        if enrollment.closed_by_staff:
            raise ApplicationError(STAFF_CLOSED_MESSAGE)
        if affiliate:
            enrollment.affiliate_id = affiliate
        if course.is_free:
            _access_grant(enrollment=enrollment, status=PaymentStatus.FREE, amount_paid=Decimal("0.00"))
            return EnrollmentStart(enrollment=enrollment, redirect_url=success_url, access_granted=True)
        discount = code.discount_for(course.price) if code else Decimal("0.00")
        enrollment.payment_status = PaymentStatus.PENDING
        enrollment.discount_code_used = code.code if code else None
        enrollment.discount_amount = discount if code else None
        enrollment.currency = course.currency
        enrollment.save(
            update_fields=[
                "payment_status",
                "discount_code_used",
                "discount_amount",
                "affiliate_id",
                "currency",
                "updated_at",
            ]
        )
    start = billing_services.checkout_start(
        kind=PURCHASE_KIND,
        object_id=str(enrollment.pk),
        member=member,
        amount=course.price - discount,
        currency=course.currency,
        description=f"Course: {course.title}",
        success_url=success_url,
        cancel_url=cancel_url,
        discount_amount=discount,
        metadata={
            "course_id": str(course.pk),
            "discount_code": code.code if code else "",
            "affiliate_id": enrollment.affiliate_id or "",
        },
    )
    enrollment.refresh_from_db()
    return EnrollmentStart(enrollment=enrollment, redirect_url=start.redirect_url, access_granted=enrollment.has_access)


def _enrollment_for_payment(payment) -> CourseEnrollment | None:
    enrollment = (
        CourseEnrollment.objects.select_for_update(of=("self",))
        .select_related("course", "user")
        .filter(pk=payment.object_id)
        .first()
    )
    if enrollment is None:
        logger.error("payment %s names enrollment %s, which does not exist", payment.pk, payment.object_id)
    return enrollment


def enrollment_payment_succeeded(*, payment) -> None:
    """billing's on_paid for "course_enrollment": grant access (payment_status='paid').

    Runs in billing's transaction under the payment lock and takes the enrollment lock.
    Idempotent: the payment that already granted access changes nothing. Takes one use of
    the discount code named in the payment's metadata; if that code was used up meanwhile,
    a zero-amount checkout is refused (DiscountCodeError rolls it back) while a member who
    already paid keeps access and staff see a `discount_overrun` activity row.
    """
    enrollment = _enrollment_for_payment(payment)
    if enrollment is None:
        return
    if enrollment.has_access:
        if enrollment.payment_id != payment.pk:
            _activity(
                enrollment=enrollment,
                activity_type=ActivityType.ACCESS_GRANTED,
                details={"duplicate_payment_id": str(payment.pk), "note": "already had access"},
            )
        return
    metadata = payment.metadata or {}
    code = metadata.get("discount_code") or ""
    if code:
        try:
            discount_code_redeem(code=code)
        except DiscountCodeError:
            if payment.amount == 0:
                raise
            _activity(
                enrollment=enrollment,
                activity_type=ActivityType.DISCOUNT_OVERRUN,
                details={"code": code, "payment_id": str(payment.pk)},
            )
    enrollment.discount_code_used = code or None
    enrollment.discount_amount = payment.discount_amount if code else None
    enrollment.affiliate_id = metadata.get("affiliate_id") or enrollment.affiliate_id
    enrollment.currency = payment.currency
    _access_grant(
        enrollment=enrollment,
        status=PaymentStatus.PAID,
        amount_paid=payment.amount,
        payment_id=payment.pk,
        details={"payment_id": str(payment.pk)},
    )


def enrollment_payment_failed(*, payment) -> None:
    """billing's on_failed: a pending enrollment is marked failed (the member may try again)."""
    enrollment = _enrollment_for_payment(payment)
    if enrollment is None or enrollment.payment_status != PaymentStatus.PENDING:
        return
    enrollment.payment_status = PaymentStatus.FAILED
    enrollment.save(update_fields=["payment_status", "updated_at"])
    _activity(enrollment=enrollment, activity_type=ActivityType.PAYMENT_FAILED, details={"payment_id": str(payment.pk)})


def enrollment_payment_refunded(*, payment, refund_amount: Decimal, fully_refunded: bool) -> None:
    """billing's on_refunded: a full refund revokes access (access_revoked_at); a partial one keeps it.

    Only the payment that granted the current access can revoke it, so refunding an old
    payment after a re-purchase does not take away the new one. Completions, milestones and
    certificates already earned stay. Idempotent: revoking twice keeps the first time.
    """
    enrollment = _enrollment_for_payment(payment)
    if enrollment is None or enrollment.payment_id != payment.pk:
        return
    enrollment.amount_refunded = payment.amount_refunded
    details = {"payment_id": str(payment.pk), "refund_amount": str(refund_amount)}
    if not fully_refunded:
        enrollment.save(update_fields=["amount_refunded", "updated_at"])
        _activity(enrollment=enrollment, activity_type=ActivityType.PARTIAL_REFUND, details=details)
        return
    if enrollment.access_revoked_at is not None:
        return
    enrollment.payment_status = PaymentStatus.REFUNDED
    _access_end(
        enrollment=enrollment,
        update_fields=["amount_refunded", "payment_status"],
        details=details,
        message="Your payment was refunded, so the course is closed for you. You can enroll again at any time.",
    )


def _access_end(*, enrollment: CourseEnrollment, update_fields: list[str], details: dict, message: str) -> None:
    """Close the course for the member (caller holds the enrollment lock), log it and tell them."""
    enrollment.access_revoked_at = timezone.now()
    enrollment.save(update_fields=[*update_fields, "access_revoked_at", "updated_at"])
    _activity(enrollment=enrollment, activity_type=ActivityType.ACCESS_REVOKED, details=details)
    notifications.notify(
        member=enrollment.user,
        type="course_access_revoked",
        title=f"Your access to {enrollment.course.title} has ended",
        message=message,
        data={"course_id": str(enrollment.course_id)},
    )


def course_users_link(*, user, email: str) -> int:
    """Link legacy course purchases made with `email` to `user` and grant those courses.

    Called when the user verifies that address. Idempotent: rows already linked are
    skipped, and an enrollment that already exists keeps its state (a refund's revocation
    is not undone). Returns how many purchases were linked.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            CourseUser.objects.select_for_update(of=("self",))
            .filter(email__iexact=email.strip(), auth_user__isnull=True)
            .select_related("course")
        )
        for row in rows:
            row.auth_user, row.linked_at = user, now
            row.save(update_fields=["auth_user", "linked_at"])
            enrollment, created = CourseEnrollment.objects.select_for_update().get_or_create(
                user=user, course=row.course, defaults={"currency": row.currency}
            )
            if created or enrollment.payment_status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
                enrollment.course, enrollment.user = row.course, user
                _access_grant(
                    enrollment=enrollment,
                    status=PaymentStatus.FREE if row.amount_paid == 0 else PaymentStatus.PAID,
                    amount_paid=row.amount_paid,
                    details={"legacy_purchase_id": str(row.pk)},
                )
    return len(rows)


def enrollment_access_revoke(*, enrollment: CourseEnrollment, staff, reason: str) -> bool:
    """Staff end a member's access (after a lost card dispute, say) without a refund.

    Needs a reason, which the activity log keeps with who did it. Completions, milestones
    and certificates already earned stay. Returns False when there was no access to end.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why access is ending; the reason is kept in the course activity log.")
    with transaction.atomic():
        locked = CourseEnrollment.objects.select_for_update().select_related("course", "user").get(pk=enrollment.pk)
        if not locked.has_access:
            return False
        _access_end(
            enrollment=locked,
            update_fields=[],
            details={"by_staff": str(staff.pk), "reason": reason[:500]},
            message="The course is closed for you now. If you have questions, please get in touch with the practice.",
        )
    return True


def enrollment_access_restore(*, enrollment: CourseEnrollment, staff) -> bool:
    """Undo a staff revocation. Refused when the enrollment is no longer paid or free (a refund)."""
    with transaction.atomic():
        locked = CourseEnrollment.objects.select_for_update().select_related("course", "user").get(pk=enrollment.pk)
        if locked.access_revoked_at is None:
            return False
        if locked.payment_status not in (PaymentStatus.PAID, PaymentStatus.FREE):
            raise ApplicationError(
                f"{locked.user.email} has no paid place on {locked.course.title} any more "
                f"(payment {locked.get_payment_status_display().lower()}); they can enroll again."
            )
        locked.access_revoked_at = None
        locked.save(update_fields=["access_revoked_at", "updated_at"])
        _activity(enrollment=locked, activity_type=ActivityType.ACCESS_GRANTED, details={"by_staff": str(staff.pk)})
        notifications.notify(
            member=locked.user,
            type="course_access_restored",
            title=f"{locked.course.title} is open for you again",
            message="Pick up where you left off whenever you are ready.",
            data={"course_id": str(locked.course_id), "url": _course_url(locked.course)},
        )
    return True


# --- Progress (the seed's update_course_progress) -------------------------------------


def _counted_lessons(course_id) -> Q:
    return Q(
        status=PublishStatus.PUBLISHED,
        archived_at__isnull=True,
        module__archived_at__isnull=True,
        module__course_id=course_id,
    )


def course_progress_update(
    *,
    member,
    lesson: CourseLesson,
    completed: bool = False,
    time_spent_seconds: int = 0,
    slides_seen: list[int] | None = None,
    slide_index: int | None = None,
) -> CourseProgress:
    """Record that the member opened (or completed) a lesson: the one place progress is written.

    Writes course_progress for the lesson, its lesson_completion_details (time spent,
    slides seen, completion time) and a course_activity_log row. Atomic, under the
    enrollment's row lock. Idempotent: completing twice counts once (a second completion
    only adds time). A completion recomputes the percent over published lessons, writes
    course_milestones at 25/50/75/100 (unique per enrollment and percent) with an
    achievement and a notice, and at 100% issues the certificate. A fixed number of
    queries, whatever the course's size. Raises ApplicationError without access.
    """
    course_id = lesson.module.course_id
    now = timezone.now()
    seconds = max(0, min(int(time_spent_seconds or 0), MAX_TIME_PER_CALL))
    seen = sorted({int(i) for i in (slides_seen or []) if 0 <= int(i) < 10_000})
    with transaction.atomic():
        enrollment = (
            CourseEnrollment.objects.select_for_update(of=("self",))
            .select_related("course", "user")
            .filter(user=member, course_id=course_id)
            .first()
        )
        if enrollment is None or not enrollment.has_access:
            raise ApplicationError("You need to be enrolled in this course to record progress.")
        progress = CourseProgress.objects.filter(enrollment=enrollment, lesson=lesson).select_related("detail").first()
        newly_completed = False
        if progress is None:
            progress = CourseProgress.objects.create(
                user=member,
                enrollment=enrollment,
                lesson=lesson,
                status=ProgressStatus.COMPLETED if completed else ProgressStatus.IN_PROGRESS,
                last_slide_index=slide_index or 0,
                first_viewed_at=now,
                last_viewed_at=now,
                completed_at=now if completed else None,
            )
            detail = LessonCompletionDetail(progress=progress)
            newly_completed = completed
        else:
            detail = getattr(progress, "detail", None) or LessonCompletionDetail(progress=progress)
            if completed and progress.status != ProgressStatus.COMPLETED:
                progress.status, progress.completed_at = ProgressStatus.COMPLETED, now
                newly_completed = True
            progress.last_viewed_at = now
            if slide_index is not None:
                progress.last_slide_index = slide_index
            progress.save(update_fields=["status", "completed_at", "last_viewed_at", "last_slide_index", "updated_at"])
        detail.time_spent_seconds = (detail.time_spent_seconds or 0) + seconds
        detail.slides_seen = sorted(set(detail.slides_seen or []) | set(seen))
        detail.slides_total = len(lesson.slides or [])
        # A plain page open counts as a view; reports of time or slides from the player do not.
        detail.view_count = (detail.view_count or 0) + (0 if completed or seconds or seen else 1)
        if newly_completed:
            detail.completed_at = now
        detail.save()
        _activity(
            enrollment=enrollment,
            lesson=lesson,
            activity_type=ActivityType.LESSON_COMPLETED if newly_completed else ActivityType.LESSON_VIEWED,
            details={"time_spent_seconds": seconds, "slides_seen": seen} if seconds or seen else {},
        )
        enrollment.last_lesson = lesson
        enrollment.last_activity_at = now
        fields = ["last_lesson", "last_activity_at", "updated_at"]
        if newly_completed:
            fields += _enrollment_percent_refresh(enrollment=enrollment, now=now)
        enrollment.save(update_fields=fields)
    progress.enrollment = enrollment  # callers read the new percent and milestone without a query
    return progress


def _enrollment_percent_refresh(*, enrollment: CourseEnrollment, now: datetime) -> list[str]:
    """Recount completed published lessons (one query); write milestones and the certificate."""
    completed = CourseProgress.objects.filter(
        enrollment=enrollment, lesson=OuterRef("pk"), status=ProgressStatus.COMPLETED
    )
    counts = CourseLesson.objects.filter(_counted_lessons(enrollment.course_id)).aggregate(
        total=Count("id"), done=Count("id", filter=Q(Exists(completed)))
    )
    total, done = counts["total"], counts["done"]
    enrollment.lessons_completed = done
    enrollment.progress_percent = done * 100 // total if total else 0
    fields = ["lessons_completed", "progress_percent"]
    reached = [p for p in MILESTONE_PERCENTS if enrollment.last_milestone_percent < p <= enrollment.progress_percent]
    if reached:
        _milestones_record(enrollment=enrollment, percents=reached, now=now)
        enrollment.last_milestone_percent = reached[-1]
        fields.append("last_milestone_percent")
    if enrollment.progress_percent == 100 and enrollment.completed_at is None:
        enrollment.completed_at = now
        fields.append("completed_at")
    if enrollment.progress_percent == 100:
        _certificate_issue(enrollment=enrollment, now=now)
    return fields


def _milestones_record(*, enrollment: CourseEnrollment, percents: list[int], now: datetime) -> None:
    course, member = enrollment.course, enrollment.user
    CourseMilestone.objects.bulk_create(
        [CourseMilestone(user=member, enrollment=enrollment, percent=p, reached_at=now) for p in percents],
        ignore_conflicts=True,
    )
    for p in percents:
        achievement_award(
            user=member,
            key=f"course:{course.pk}:{p}",
            title=f"{course.title}: {'finished' if p == 100 else f'{p}% complete'}",
            description=f"Completed {p}% of the lessons of {course.title}.",
        )
    for p in percents:
        _activity(enrollment=enrollment, activity_type=ActivityType.MILESTONE_REACHED, details={"percent": p})
    top = percents[-1]
    url = _course_url(course)
    if top == 100:
        title, message = f"You finished {course.title}", "Well done. Your certificate is ready to download."
    else:
        title, message = f"{top}% of {course.title} done", "Every lesson counts. Keep going at your own pace."
    notifications.notify(
        member=member,
        type="course_completed" if top == 100 else "course_milestone",
        title=title,
        message=message,
        data={"course_id": str(course.pk), "percent": top, "url": url},
        email_template="courses/milestone",
        email_context={
            "course_title": course.title,
            "percent": top,
            "course_url": absolute_url(url),
            "first_name": member.first_name,
        },
    )


def course_progress_recompute(*, course_id) -> int:
    """Recompute every enrollment's percent after the course's lessons changed (two queries).

    Completion (`completed_at`), milestones and certificates already earned are kept:
    adding lessons lowers the percent but never takes away what was earned.
    """
    total = CourseLesson.objects.filter(_counted_lessons(course_id)).count()
    done = (
        CourseProgress.objects.filter(enrollment=OuterRef("pk"), status=ProgressStatus.COMPLETED)
        .filter(
            lesson__status=PublishStatus.PUBLISHED,
            lesson__archived_at__isnull=True,
            lesson__module__archived_at__isnull=True,
            lesson__module__course_id=course_id,
        )
        .order_by()
        .values("enrollment")
        .annotate(n=Count("id"))
        .values("n")
    )
    done_count = Coalesce(Subquery(done), Value(0))
    return CourseEnrollment.objects.filter(course_id=course_id).update(
        lessons_completed=done_count,
        progress_percent=done_count * 100 / total if total else Value(0),
    )


# --- Certificates ---------------------------------------------------------------------


def _certificate_issue(*, enrollment: CourseEnrollment, now: datetime) -> CourseCertificate:
    """Issue the enrollment's certificate once; certificates are permanent (only staff revoke)."""
    certificate, created = CourseCertificate.objects.get_or_create(
        enrollment=enrollment,
        defaults={
            "user_id": enrollment.user_id,
            "course_id": enrollment.course_id,
            "verification_code": secrets.token_urlsafe(18),
            "certificate_name": enrollment.user.get_full_name()[:200],
            "completed_at": now,
        },
    )
    if created:
        _activity(
            enrollment=enrollment,
            activity_type=ActivityType.CERTIFICATE_ISSUED,
            details={"certificate_id": str(certificate.pk)},
        )
    return certificate


def certificate_name_set(*, certificate: CourseCertificate, name: str) -> CourseCertificate:
    """Fix the name printed on the certificate. Once confirmed it no longer changes (staff can)."""
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError("Please enter the name to print on your certificate.")
    if len(name) > 200:
        raise ApplicationError("Please use at most 200 characters.")
    if certificate.name_confirmed_at is not None:
        raise ApplicationError("The name on this certificate is already confirmed. Contact us to change it.")
    updated = CourseCertificate.objects.filter(pk=certificate.pk, name_confirmed_at__isnull=True).update(
        certificate_name=name, name_confirmed_at=timezone.now()
    )
    if not updated:
        raise ApplicationError("The name on this certificate is already confirmed. Contact us to change it.")
    certificate.refresh_from_db()
    return certificate


def certificate_download(*, certificate: CourseCertificate) -> bytes:
    """The certificate's PDF; counts the download. Refused until the name is confirmed or when revoked."""
    from .certificates import certificate_pdf

    if certificate.is_revoked:
        raise ApplicationError("This certificate was revoked and can no longer be downloaded.")
    if certificate.name_confirmed_at is None:
        raise ApplicationError("Please confirm the name to print on your certificate first.")
    CourseCertificate.objects.filter(pk=certificate.pk).update(download_count=F("download_count") + 1)
    return certificate_pdf(certificate=certificate)


def certificate_revoke(*, certificate: CourseCertificate, reason: str) -> CourseCertificate:
    """Revoke a certificate (staff). The verification page then says so, with the reason."""
    if not (reason or "").strip():
        raise ApplicationError("Give a reason: it is shown on the public verification page.")
    if certificate.revoked_at is None:
        certificate.revoked_at = timezone.now()
        certificate.revoked_reason = reason.strip()
        certificate.save(update_fields=["revoked_at", "revoked_reason"])
    return certificate


# --- Staff: courses and lesson content ------------------------------------------------


def course_publish(*, course: Course) -> Course:
    if course.status != PublishStatus.PUBLISHED:
        course.status = PublishStatus.PUBLISHED
        course.published_at = course.published_at or timezone.now()
        course.save(update_fields=["status", "published_at", "updated_at"])
    return course


def course_unpublish(*, course: Course) -> Course:
    if course.status != PublishStatus.DRAFT:
        course.status = PublishStatus.DRAFT
        course.save(update_fields=["status", "updated_at"])
    return course


def course_archive(*, course: Course) -> Course:
    """Hide the course from the catalog. Enrollments are untouched: members keep their access."""
    course.archive()
    return course


def course_restore(*, course: Course) -> Course:
    course.restore()
    return course


def course_delete(*, course: Course) -> None:
    """Delete a course nobody holds. Refused (ApplicationError) while it has enrollments, certificates or legacy purchases."""
    held = course.enrollments.count()
    if held:
        raise ApplicationError(
            f'"{course.title}" has {held} enrollment{"s" if held != 1 else ""} and cannot be deleted. '
            "Archive it instead: it leaves the catalog and members keep their access."
        )
    try:
        with transaction.atomic():
            course.delete()
    except ProtectedError as exc:
        raise ApplicationError(
            f'"{course.title}" is still referenced ({len(exc.protected_objects)} rows such as discount codes '
            "or legacy purchases) and cannot be deleted. Archive it instead."
        ) from exc


SNAPSHOT_FIELDS = ("title", "summary", "slides", "video_url", "status", "is_preview", "duration_minutes")


def lesson_snapshot(lesson: CourseLesson) -> dict:
    return {name: getattr(lesson, name) for name in SNAPSHOT_FIELDS}


def lesson_save(*, lesson: CourseLesson, changed_by=None, change_summary: str = "") -> CourseLesson:
    """Save a staff edit of a lesson and keep its history.

    Slides are sanitised and the video address checked (ApplicationError when not an
    allowed embed URL). A course_content_versions row is written when the snapshot
    (title, slides, video ...) differs from the latest version, numbered under the lesson's
    row lock. When the set of counted lessons changes (new, published, archived, moved),
    every enrollment's percent is recomputed; completions and certificates stay.
    """
    lesson.slides = slides_clean(lesson.slides)
    lesson.video_url = (lesson.video_url or "").strip()
    if lesson.video_url and video_embed_url(lesson.video_url) is None:
        raise ApplicationError("Only YouTube or Vimeo embed addresses can be used for a lesson video.")
    with transaction.atomic():
        before = None
        if not lesson._state.adding:
            before = (
                CourseLesson.all_objects.select_for_update()
                .filter(pk=lesson.pk)
                .values("status", "archived_at", "module__course_id")
                .first()
            )
        lesson.save()
        _version_record(lesson=lesson, changed_by=changed_by, change_summary=change_summary)
        course_id = CourseLesson.all_objects.filter(pk=lesson.pk).values_list("module__course_id", flat=True).get()
        changed = before is None or (
            before["status"] != lesson.status
            or before["archived_at"] != lesson.archived_at
            or before["module__course_id"] != course_id
        )
        if changed:
            course_progress_recompute(course_id=course_id)
            if before is not None and before["module__course_id"] != course_id:
                course_progress_recompute(course_id=before["module__course_id"])
    return lesson


def _version_record(*, lesson: CourseLesson, changed_by, change_summary: str) -> CourseContentVersion | None:
    snapshot = lesson_snapshot(lesson)
    latest = lesson.versions.order_by("-version_number").first()
    if latest is not None and latest.snapshot == snapshot:
        return None
    return CourseContentVersion.objects.create(
        lesson=lesson,
        version_number=(latest.version_number + 1) if latest else 1,
        snapshot=snapshot,
        change_summary=change_summary[:300],
        changed_by=changed_by if changed_by is not None and changed_by.is_authenticated else None,
    )


def lesson_version_restore(*, version: CourseContentVersion, restored_by) -> CourseLesson:
    """Put a lesson back to a saved version; the restore itself becomes a new version."""
    lesson = CourseLesson.all_objects.get(pk=version.lesson_id)
    for name in SNAPSHOT_FIELDS:
        if name in version.snapshot:
            setattr(lesson, name, version.snapshot[name])
    return lesson_save(
        lesson=lesson, changed_by=restored_by, change_summary=f"Restored version {version.version_number}"
    )


def lesson_archive(*, lesson: CourseLesson, changed_by=None) -> CourseLesson:
    lesson.archived_at = lesson.archived_at or timezone.now()
    return lesson_save(lesson=lesson, changed_by=changed_by, change_summary="Archived")


def lesson_restore(*, lesson: CourseLesson, changed_by=None) -> CourseLesson:
    lesson.archived_at = None
    return lesson_save(lesson=lesson, changed_by=changed_by, change_summary="Restored from archive")
