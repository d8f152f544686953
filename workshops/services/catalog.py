"""Staff: cancelling a workshop from the catalog."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import RegistrationStatus, Workshop, WorkshopRegistration, WorkshopStatus
from .seats import waitlist_entries_close, workshop_lock


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
