"""Enquiries from the public site: contact-form messages and job applications, each alerting staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from bloom.text import normalize_email
from notifications import services as notification_services

from ..models import CareerApplication, ContactStatus, ContactSubmission, JobPosting
from ..selectors import job_posting_is_open
from ..validators import validate_cv

if TYPE_CHECKING:
    from accounts.models import User


def _admin_url(obj) -> str:
    path = reverse(f"admin:content_{obj._meta.model_name}_change", args=[obj.pk])
    return absolute_url(path)


# --- Contact form ---------------------------------------------------------------------------


@transaction.atomic
def contact_submission_create(
    *, name: str, email: str, message: str, phone: str = "", subject: str = "", ip_address: str | None = None
) -> ContactSubmission:
    """Store a contact-form message and queue a staff alert in the same transaction.

    The alert names the sender and links to the back office but never carries the
    message itself (it may hold health information; the row is encrypted, email is not).
    """
    submission = ContactSubmission.objects.create(
        name=name.strip(),
        email=normalize_email(email),
        phone=phone.strip(),
        subject=subject.strip(),
        message=message.strip(),
        ip_address=ip_address,
    )
    notification_services.email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="content/contact_alert",
        context={"name": submission.name, "subject": submission.subject, "admin_url": _admin_url(submission)},
        category=notification_services.EmailCategory.TRANSACTIONAL,
        priority=notification_services.EmailPriority.HIGH,
        idempotency_key=f"contact-alert:{submission.pk}",
    )
    return submission


@transaction.atomic
def contact_submission_status_set(*, submission: ContactSubmission, status: str, user: User) -> ContactSubmission:
    """Move a contact message to new / in progress / closed, recording who handled it."""
    submission = ContactSubmission.objects.select_for_update().get(pk=submission.pk)
    submission.status = status
    submission.handled_by = user
    submission.closed_at = timezone.now() if status == ContactStatus.CLOSED else None
    submission.save(update_fields=["status", "handled_by", "closed_at", "updated_at"])
    return submission


# --- Careers --------------------------------------------------------------------------------


@transaction.atomic
def career_application_submit(
    *,
    job_posting: JobPosting,
    full_name: str,
    email: str,
    cv,
    phone: str = "",
    cover_letter: str = "",
    ip_address: str | None = None,
    keep_on_file: bool = False,
) -> CareerApplication:
    """Store an application and its CV (PDF/DOCX under 5 MB, checked by content) for an
    open posting, and queue an alert to the hiring inbox without the CV attached.
    `keep_on_file` is her choice to be kept for future roles (retention, docs/adr/0350)."""
    if not job_posting_is_open(job_posting=job_posting):
        raise ApplicationError("This role is no longer open for applications.")
    validate_cv(cv)
    application = CareerApplication(
        job_posting=job_posting,
        full_name=full_name.strip(),
        email=normalize_email(email),
        phone=phone.strip(),
        cover_letter=cover_letter.strip(),
        cv_original_name=(getattr(cv, "name", "") or "")[-255:],
        ip_address=ip_address,
        keep_on_file=keep_on_file,
    )
    application.cv = cv
    application.save()
    notification_services.email_enqueue(
        to=settings.BLOOM_CAREERS_ALERT_EMAIL,
        template="content/career_application_alert",
        context={
            "full_name": application.full_name,
            "job_title": job_posting.title,
            "admin_url": _admin_url(application),
        },
        category=notification_services.EmailCategory.TRANSACTIONAL,
        idempotency_key=f"career-alert:{application.pk}",
    )
    return application
