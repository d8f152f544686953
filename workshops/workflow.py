"""Workshops in the approval workflow (bloom/workflow.py, docs/workshops.md)."""

from __future__ import annotations

from bloom.exceptions import ApplicationError
from bloom.workflow import WorkflowKind

from .models import RegistrationStatus, Workshop, WorkshopStatus
from .services.catalog import workshop_publish


def _unpublish(workshop: Workshop) -> None:
    booked = workshop.registrations.filter(
        status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]
    ).count()
    if booked:
        raise ApplicationError(
            f"{booked} member{'s are' if booked != 1 else ' is'} booked on this workshop: cancel it instead, "
            "so they are told and refunded."
        )
    if workshop.status == WorkshopStatus.PUBLISHED:
        workshop.status = WorkshopStatus.DRAFT
        workshop.save(update_fields=["status", "updated_at"])


WORKSHOP = WorkflowKind(
    model=Workshop,
    noun="workshop",
    publish=lambda workshop: workshop_publish(workshop=workshop),  # refused without a time or a host
    unpublish=_unpublish,
    is_live=lambda workshop: workshop.status == WorkshopStatus.PUBLISHED,
)
