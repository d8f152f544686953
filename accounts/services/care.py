"""Content a clinician suggests to a client, and whether she shares her progress on it."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from notifications.services import EmailCategory, notification_create

from ..assignables import assignable_get
from ..models import CARE_PROGRESS_SHARE_SOURCE, CareAssignment, User
from .members import consent_switch_set


def care_assignment_create(*, clinician: User, member: User, kind: str, object_id, note: str = "") -> CareAssignment:
    """Suggest an item to a client and tell her (portal notice; the email names no item or note).

    Refused for a non-staff "clinician", a member who is staff, a kind nobody registered or an
    item that is not offered (unpublished, archived).
    """
    if not clinician.is_staff:
        raise ApplicationError("Only the care team can suggest something to a client.")
    if member.is_staff:
        raise ApplicationError("Suggestions are for clients, not staff.")
    assignable = assignable_get(kind)
    if assignable is None:
        raise ApplicationError(f"Nothing of the kind {kind!r} can be suggested.")
    labels = {str(pk): label for pk, label in assignable.choices()}
    if str(object_id) not in labels:
        raise ApplicationError("That item is not published, so it cannot be suggested.")
    with transaction.atomic():
        assignment = CareAssignment.objects.create(
            user=member,
            clinician=clinician,
            kind=kind,
            object_id=object_id,
            title=labels[str(object_id)][:300],
            note=note.strip(),
        )
        notification_create(
            member=member,
            type="care_assignment",
            title="Your therapist suggested something for you",
            message=f"{assignment.get_kind_display()}: {assignment.title}. See it on your dashboard.",
            data={"url": reverse("accounts:dashboard"), "assignment_id": str(assignment.pk)},
            email_context={"title": "Your therapist suggested something for you", "message": "See it in your portal."},
            category=EmailCategory.CLINICAL,
        )
    return assignment


def care_assignment_archive(*, member: User, assignment_id) -> bool:
    """She puts a suggestion away (it leaves her dashboard; the clinician still sees it was made)."""
    return bool(
        CareAssignment.objects.filter(user=member, pk=assignment_id, archived_at__isnull=True).update(
            archived_at=timezone.now()
        )
    )


def care_progress_share_set(*, member: User, shared: bool, request=None) -> bool:
    """Let her clinicians see her progress on what they suggested, or stop it.

    A consent switch (`consent_switch_set`, source CARE_PROGRESS_SHARE_SOURCE). Returns whether
    anything changed.
    """
    return consent_switch_set(member=member, source=CARE_PROGRESS_SHARE_SOURCE, granted=shared, request=request)
