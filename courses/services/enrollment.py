"""Enrollment: starting one (free or through billing's checkout), the payment outcomes billing reports,
legacy purchases, and staff closing or reopening access.

The enrollment row lock serialises everything that changes one member's place in a course.
Notices go through notifications.services in the same transaction (the outbox).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from billing import services as billing_services
from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from notifications import services as notifications

from ..models import (
    ActivityType,
    Course,
    CourseEnrollment,
    CourseUser,
    PaymentStatus,
)
from .activity import activity_record, course_url
from .discounts import DiscountCodeError, affiliate_clean, discount_code_check, discount_code_redeem

logger = logging.getLogger(__name__)


PURCHASE_KIND = "course_enrollment"
STAFF_CLOSED_MESSAGE = (
    "The practice has closed this course for you. If you would like it reopened, please get in touch with us."
)


@dataclass(frozen=True)
class EnrollmentStart:
    enrollment: CourseEnrollment
    redirect_url: str
    access_granted: bool


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
    if first_time and enrollment.course.access_days:
        enrollment.access_expires_at = now + timedelta(days=enrollment.course.access_days)
    enrollment.last_activity_at = now
    enrollment.save()
    activity_record(
        enrollment=enrollment,
        activity_type=ActivityType.ENROLLED if first_time else ActivityType.ACCESS_GRANTED,
        details={"payment_status": status, "amount_paid": str(amount_paid), **(details or {})},
    )
    course, member = enrollment.course, enrollment.user
    url = course_url(course)
    notifications.notification_create(
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


def enrollment_access_expiries_shift(*, member, by: timedelta, not_before: datetime | None = None) -> int:
    """Move her course access expiries still to come by `by` (a pause; negative when she ends it
    early), never earlier than `not_before`. Registered with accounts' pause service."""
    now = timezone.now()
    moved = F("access_expires_at") + by
    if not_before is not None:
        moved = Greatest(moved, not_before)
    return CourseEnrollment.objects.filter(user=member, access_expires_at__gt=now).update(
        access_expires_at=moved, updated_at=now
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
            return EnrollmentStart(enrollment=enrollment, redirect_url=course_url(course), access_granted=True)
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
            activity_record(
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
            activity_record(
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
    activity_record(
        enrollment=enrollment, activity_type=ActivityType.PAYMENT_FAILED, details={"payment_id": str(payment.pk)}
    )


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
        activity_record(enrollment=enrollment, activity_type=ActivityType.PARTIAL_REFUND, details=details)
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
    activity_record(enrollment=enrollment, activity_type=ActivityType.ACCESS_REVOKED, details=details)
    notifications.notification_create(
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
        activity_record(
            enrollment=locked, activity_type=ActivityType.ACCESS_GRANTED, details={"by_staff": str(staff.pk)}
        )
        notifications.notification_create(
            member=locked.user,
            type="course_access_restored",
            title=f"{locked.course.title} is open for you again",
            message="Pick up where you left off whenever you are ready.",
            data={"course_id": str(locked.course_id), "url": course_url(locked.course)},
        )
    return True
