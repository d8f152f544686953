"""Staff: publishing and cancelling a workshop in the catalog."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import CANCELLED_NOT_REPUBLISHED, RegistrationStatus, Workshop, WorkshopRegistration, WorkshopStatus
from .seats import waitlist_entries_close, workshop_lock


@transaction.atomic
def workshop_publish(*, workshop: Workshop) -> bool:
    """Publish a draft workshop so members can book it. Returns False when it already was.

    Locks the workshop row. Refused (ValidationError by field) without a host or with a start
    time that has passed; a cancelled workshop is not brought back (ValidationError).
    """
    locked = workshop_lock(workshop.pk)
    if locked.status == WorkshopStatus.PUBLISHED:
        return False
    if locked.status == WorkshopStatus.CANCELLED:
        raise ValidationError({"status": CANCELLED_NOT_REPUBLISHED})
    refusals = locked.publish_refusal()
    if refusals:
        raise ValidationError(refusals)
    locked.status = WorkshopStatus.PUBLISHED
    locked.save(update_fields=["status", "updated_at"])
    workshop.status = locked.status
    return True


@transaction.atomic
def workshop_cancel(*, workshop: Workshop) -> int:
    """Cancel a workshop: its status becomes cancelled and every active registration is cancelled.

    Waitlist entries close with them. Returns the number of registrations cancelled.
    Paid seats are listed for refunds by the orphan check, not refunded here.
    """
    locked = workshop_lock(workshop.pk)
    locked.status = WorkshopStatus.CANCELLED
    locked.save(update_fields=["status", "updated_at"])
    now = timezone.now()
    waitlist_entries_close(workshop=locked)
    return WorkshopRegistration.objects.filter(
        workshop=locked, status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]
    ).update(status=RegistrationStatus.CANCELLED, cancelled_at=now, updated_at=now)
