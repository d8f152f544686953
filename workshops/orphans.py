"""Orphaned workshop data (seed section 4C: removed workshops with existing registrations)."""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bloom.orphans import OrphanCheck

from .models import (
    ACTIVE_WAITLIST_STATUSES,
    PaymentStatus,
    RegistrationStatus,
    WaitlistStatus,
    WorkshopAttendance,
    WorkshopRegistration,
    WorkshopStatus,
    WorkshopWaitlistEntry,
)

_GONE = Q(workshop__status=WorkshopStatus.CANCELLED) | Q(workshop__archived_at__isnull=False)
_ACTIVE = [RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]


def _active_registrations_of_gone_workshops():
    return WorkshopRegistration.objects.filter(_GONE, status__in=_ACTIVE)


def _cancel(queryset) -> int:
    now = timezone.now()
    return WorkshopRegistration.objects.filter(pk__in=queryset.values("pk")).update(
        status=RegistrationStatus.CANCELLED, cancelled_at=now, updated_at=now
    )


def _open_waitlist_of_gone_workshops():
    return WorkshopWaitlistEntry.objects.filter(
        _GONE | Q(workshop__starts_at__lte=timezone.now()), status__in=ACTIVE_WAITLIST_STATUSES
    )


def _attendance_with_linkable_registration():
    matching = WorkshopRegistration.objects.filter(workshop=OuterRef("workshop"), user=OuterRef("user")).exclude(
        status=RegistrationStatus.CANCELLED
    )
    return WorkshopAttendance.objects.filter(registration__isnull=True, user__isnull=False).filter(Exists(matching))


def _link_attendance(queryset) -> int:
    linked = 0
    for attendance in queryset.select_for_update():
        registration = (
            WorkshopRegistration.objects.filter(workshop=attendance.workshop_id, user=attendance.user_id)
            .exclude(status=RegistrationStatus.CANCELLED)
            .first()
        )
        if registration is not None:
            WorkshopAttendance.objects.filter(pk=attendance.pk).update(registration=registration)
            linked += 1
    return linked


CHECKS = [
    OrphanCheck(
        name="active workshop registrations of cancelled or archived workshops",
        find=_active_registrations_of_gone_workshops,
        fix=_cancel,
        fix_description="cancel the registrations",
    ),
    OrphanCheck(
        name="open waitlist entries of cancelled, archived or past workshops",
        find=_open_waitlist_of_gone_workshops,
        fix=lambda qs: WorkshopWaitlistEntry.objects.filter(pk__in=qs.values("pk")).update(
            status=WaitlistStatus.CANCELLED
        ),
        fix_description="close the entries",
    ),
    OrphanCheck(
        name="workshop attendance of a member without a link to their registration",
        find=_attendance_with_linkable_registration,
        fix=_link_attendance,
        fix_description="link each row to the member's registration",
    ),
    OrphanCheck(
        name="cancelled workshop registrations that were paid and not refunded",
        find=lambda: WorkshopRegistration.objects.filter(
            status=RegistrationStatus.CANCELLED, payment_status=PaymentStatus.PAID
        ),
        fix=lambda qs: 0,
        fix_description="nothing automatic: staff refund these through billing",
    ),
]
