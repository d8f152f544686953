"""Orphaned-data checks for notifications (run by `manage.py cleanup_orphans`)."""

from django.utils import timezone

from bloom.orphans import OrphanCheck

from .models import EmailQueue, EmailSequenceEnrollment, EmailStatus, EnrollmentStatus

CHECKS = [
    OrphanCheck(
        name="active sequence enrollments of archived sequences",
        find=lambda: EmailSequenceEnrollment.objects.filter(
            status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED], sequence__archived_at__isnull=False
        ),
        fix=lambda qs: qs.update(status=EnrollmentStatus.STOPPED, stop_reason="sequence archived", next_due_at=None),
        fix_description="stop them",
    ),
    OrphanCheck(
        name="emails stuck in sending past their lease",
        find=lambda: EmailQueue.objects.filter(status=EmailStatus.SENDING, lease_expires_at__lt=timezone.now()),
        fix=lambda qs: qs.update(status=EmailStatus.PENDING, lease_expires_at=None),
        fix_description="put them back in the queue",
    ),
]
