"""Alerts to the care-team inbox (BLOOM_STAFF_ALERT_EMAIL) about faults staff must put right."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db.models import Model

from .models import EmailQueue
from .services import EmailPriority, email_enqueue

logger = logging.getLogger(__name__)


def stored_file_missing(*, obj: Model, file_name: str, description: str, admin_url: str) -> EmailQueue | None:
    """Log an error and alert staff, once, that `obj`'s stored file `file_name` cannot be found.

    Called where a member (or a staff member) asked for the file and got a "not available"
    page instead. Every call logs; the email is queued once per object and file name (its
    idempotency key), so the members who meet the same missing file add no second email,
    while a replacement upload that goes missing again alerts again. `description` names
    the thing for staff and must hold no personal data (the email leaves the database).
    Returns the queued row, or None when this file was already reported.
    """
    label = obj._meta.label_lower
    digest = hashlib.sha256(file_name.encode()).hexdigest()[:16]
    logger.error("stored file missing: %s %s file sha256 %s", label, obj.pk, digest)  # the name may name a person
    return email_enqueue(
        to=settings.BLOOM_STAFF_ALERT_EMAIL,
        template="notifications/staff_file_missing",
        context={"description": description, "file_name": file_name, "admin_url": admin_url},
        priority=EmailPriority.HIGH,
        idempotency_key=f"file-missing:{label}:{obj.pk}:{digest}",
    )
