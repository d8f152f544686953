"""Reads for what a clinician suggested: her list (fenced to her) and whether she shares progress."""

from __future__ import annotations

from collections import defaultdict

from ..assignables import AssignedItem, assignable_get
from ..models import CARE_PROGRESS_SHARE_SOURCE, CareAssignment
from .members import consent_switch_get


def _described(member, assignments: list[CareAssignment]) -> list[tuple[CareAssignment, AssignedItem | None]]:
    """Each suggestion with what its app says about it now (one query per kind present)."""
    ids_by_kind: dict[str, list] = defaultdict(list)
    for assignment in assignments:
        ids_by_kind[assignment.kind].append(assignment.object_id)
    described: dict[tuple[str, str], AssignedItem] = {}
    for kind, ids in ids_by_kind.items():
        assignable = assignable_get(kind)
        if assignable is None:
            continue
        for object_id, item in assignable.describe(member=member, ids=ids).items():
            described[(kind, str(object_id))] = item
    return [(a, described.get((a.kind, str(a.object_id)))) for a in assignments]


def care_assignment_list_for_member(*, member, limit: int = 10) -> list[tuple[CareAssignment, AssignedItem | None]]:
    """Her current suggestions, newest first, with their item and her progress."""
    assignments = list(
        CareAssignment.objects.filter(user=member, archived_at__isnull=True).select_related("clinician")[:limit]
    )
    return _described(member, assignments) if assignments else []


def care_progress_shared_get(*, member) -> bool:
    """Whether she lets her clinicians see her progress on their suggestions (newest consent wins)."""
    return consent_switch_get(member=member, source=CARE_PROGRESS_SHARE_SOURCE)


def care_assignment_progress_get(*, assignment: CareAssignment) -> AssignedItem | None:
    """Her progress on one suggestion, for the care team: None unless she shares it."""
    if not care_progress_shared_get(member=assignment.user):
        return None
    return _described(assignment.user, [assignment])[0][1]
