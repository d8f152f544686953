"""Feedback from members who attended."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from bloom.exceptions import ApplicationError

from ..models import (
    RegistrationStatus,
    Workshop,
    WorkshopFeedback,
    WorkshopRegistration,
)


@transaction.atomic
def feedback_submit(
    *, member: User, workshop: Workshop, rating: int, comments: str = "", would_recommend: bool | None = None
) -> WorkshopFeedback:
    """Store (or replace) the member's feedback; only members who attended may leave it."""
    if not WorkshopRegistration.objects.filter(
        user=member, workshop=workshop, status=RegistrationStatus.ATTENDED
    ).exists():
        raise ApplicationError("Feedback opens once you have attended this workshop.")
    if not 1 <= rating <= 5:
        raise ApplicationError("Choose a rating from 1 to 5.")
    feedback, _ = WorkshopFeedback.objects.update_or_create(
        user=member,
        workshop=workshop,
        defaults={"rating": rating, "comments": comments.strip(), "would_recommend": would_recommend},
    )
    return feedback
