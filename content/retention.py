"""Data retention for content (docs/adr/0081, 0350; defaults in docs/operations.md "Retention").

Analytics events, closed contact messages and closed chats are deleted after their limits.
Career applications are deleted, with their CV file in storage, once the role has been
closed for BLOOM_RETENTION_DAYS["career_applications"] (6 months); one she asked us to keep
on file goes BLOOM_RETENTION_DAYS["career_applications_on_file"] (2 years) after she applied,
unless she is still being considered.
"""

from django.db import transaction
from django.db.models import Q, QuerySet

from bloom.retention import RetentionPolicy, delete_rows, deletion_policy

from .models import (
    AnalyticsEvent,
    ApplicationStatus,
    CareerApplication,
    ChatConversation,
    ChatStatus,
    ContactStatus,
    ContactSubmission,
)


def _role_closed_before(cutoff) -> QuerySet:
    """Applications to a role closed (by hand, by its closing date, or archived) before `cutoff`.

    A role closed by hand has no closing time of its own: its last edit stands in, so an edit
    after closing only keeps the applications longer."""
    closed = (
        Q(job_posting__is_open=False, job_posting__updated_at__lt=cutoff)
        | Q(job_posting__closes_at__lt=cutoff)
        | Q(job_posting__archived_at__lt=cutoff)
    )
    return CareerApplication.objects.filter(closed, keep_on_file=False)


def _kept_on_file_before(cutoff) -> QuerySet:
    """Applications she asked us to keep, made before `cutoff` and no longer being considered."""
    in_progress = [
        ApplicationStatus.NEW,
        ApplicationStatus.REVIEWING,
        ApplicationStatus.INTERVIEW,
        ApplicationStatus.OFFERED,
    ]
    return CareerApplication.objects.filter(keep_on_file=True, created_at__lt=cutoff).exclude(status__in=in_progress)


def _delete_applications_and_cvs(applications: QuerySet) -> int:
    """Delete the applications; their CV files leave storage once the deletion has committed."""
    storage = CareerApplication._meta.get_field("cv").storage
    names = [name for name in applications.values_list("cv", flat=True) if name]
    deleted = delete_rows(applications)

    def remove_files():
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove_files)
    return deleted


POLICIES = [
    deletion_policy(
        name="analytics_events older than the limit",
        setting="analytics_events",
        find=lambda cutoff: AnalyticsEvent.objects.filter(created_at__lt=cutoff),
    ),
    deletion_policy(
        name="contact_submissions closed before the limit",
        setting="contact_messages",
        find=lambda cutoff: ContactSubmission.objects.filter(status=ContactStatus.CLOSED, closed_at__lt=cutoff),
    ),
    deletion_policy(
        name="chat_conversations closed before the limit",
        setting="chats",
        find=lambda cutoff: ChatConversation.objects.filter(status=ChatStatus.CLOSED, closed_at__lt=cutoff),
        action="delete with their messages",
        member="user",
    ),
    RetentionPolicy(
        name="career_applications for roles closed before the limit",
        setting="career_applications",
        find=_role_closed_before,
        apply=_delete_applications_and_cvs,
        action="delete with the CV file",
    ),
    RetentionPolicy(
        name="career_applications kept on file, made before the limit",
        setting="career_applications_on_file",
        find=_kept_on_file_before,
        apply=_delete_applications_and_cvs,
        action="delete with the CV file",
    ),
]
