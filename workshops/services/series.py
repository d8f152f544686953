"""Series: a member's progress through a workshop series."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import (
    RegistrationStatus,
    UserWorkshopSeriesProgress,
    Workshop,
    WorkshopRegistration,
    WorkshopSeries,
    WorkshopStatus,
)


@transaction.atomic
def series_progress_update(*, user_id, series_id) -> UserWorkshopSeriesProgress:
    """Recount the member's attended sessions of a series; stamp completion once.

    Idempotent and safe to run concurrently (locks the progress row; the unique
    user+series constraint guards its creation).
    """
    series = WorkshopSeries.all_objects.get(pk=series_id)
    progress, _ = UserWorkshopSeriesProgress.objects.get_or_create(user_id=user_id, series=series)
    progress = UserWorkshopSeriesProgress.objects.select_for_update().get(pk=progress.pk)
    attended = (
        WorkshopRegistration.objects.filter(
            user_id=user_id, workshop__series=series, status=RegistrationStatus.ATTENDED
        )
        .values("workshop")
        .distinct()
        .count()
    )
    required = series.required_sessions or (
        Workshop.objects.filter(series=series).exclude(status=WorkshopStatus.CANCELLED).count()
    )
    progress.sessions_attended = attended
    if progress.completed_at is None and required and attended >= required:
        progress.completed_at = timezone.now()
    progress.save(update_fields=["sessions_attended", "completed_at", "updated_at"])
    return progress
