"""Certificates: issued once at 100%, the printed name confirmed by the member, downloads, staff revocation."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from bloom.exceptions import ApplicationError

from ..models import (
    ActivityType,
    CourseCertificate,
    CourseEnrollment,
)
from .activity import activity_record


def certificate_issue(*, enrollment: CourseEnrollment, now: datetime) -> CourseCertificate:
    """Issue the enrollment's certificate once; certificates are permanent (only staff revoke)."""
    certificate, created = CourseCertificate.objects.get_or_create(
        enrollment=enrollment,
        defaults={
            "user_id": enrollment.user_id,
            "course_id": enrollment.course_id,
            "verification_code": secrets.token_urlsafe(18),
            "certificate_name": enrollment.user.get_full_name()[:200],
            "completed_at": now,
        },
    )
    if created:
        activity_record(
            enrollment=enrollment,
            activity_type=ActivityType.CERTIFICATE_ISSUED,
            details={"certificate_id": str(certificate.pk)},
        )
    return certificate


def certificate_name_set(*, certificate: CourseCertificate, name: str) -> CourseCertificate:
    """Fix the name printed on the certificate. Once confirmed it no longer changes (staff can)."""
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError("Please enter the name to print on your certificate.")
    if len(name) > 200:
        raise ApplicationError("Please use at most 200 characters.")
    if certificate.name_confirmed_at is not None:
        raise ApplicationError("The name on this certificate is already confirmed. Contact us to change it.")
    updated = CourseCertificate.objects.filter(pk=certificate.pk, name_confirmed_at__isnull=True).update(
        certificate_name=name, name_confirmed_at=timezone.now()
    )
    if not updated:
        raise ApplicationError("The name on this certificate is already confirmed. Contact us to change it.")
    certificate.refresh_from_db()
    return certificate


def certificate_download(*, certificate: CourseCertificate) -> bytes:
    """The certificate's PDF; counts the download. Refused until the name is confirmed or when revoked."""
    from ..certificates import certificate_pdf

    if certificate.is_revoked:
        raise ApplicationError("This certificate was revoked and can no longer be downloaded.")
    if certificate.name_confirmed_at is None:
        raise ApplicationError("Please confirm the name to print on your certificate first.")
    CourseCertificate.objects.filter(pk=certificate.pk).update(download_count=F("download_count") + 1)
    return certificate_pdf(certificate=certificate)


def certificate_revoke(*, certificate: CourseCertificate, reason: str) -> CourseCertificate:
    """Revoke a certificate (staff). The verification page then says so, with the reason."""
    if not (reason or "").strip():
        raise ApplicationError("Give a reason: it is shown on the public verification page.")
    if certificate.revoked_at is None:
        certificate.revoked_at = timezone.now()
        certificate.revoked_reason = reason.strip()
        certificate.save(update_fields=["revoked_at", "revoked_reason"])
    return certificate
