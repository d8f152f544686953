"""Suppression and unsubscribe: who must get no mail (or no marketing), and withdrawing consent."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from bloom.text import normalize_email

from ..models import (
    EmailCampaignMetric,
    EmailCategory,
    EmailQueue,
    EmailSequenceEnrollment,
    EmailStatus,
    EmailSuppression,
    EnrollmentStatus,
)
from ..registry import unsubscribe_handlers


def suppression_add(
    *, email: str, reason: str, scope: str = EmailSuppression.Scope.ALL, detail: str = ""
) -> EmailSuppression:
    """Add or widen a suppression (a marketing-only entry becomes `all` when asked; never narrows).

    Pending marketing mail to the address is cancelled; with scope `all`, all pending mail is.
    """
    email = normalize_email(email)
    with transaction.atomic():
        suppression, created = EmailSuppression.objects.select_for_update().get_or_create(
            email=email, defaults={"reason": reason, "scope": scope, "detail": detail}
        )
        if not created and scope == EmailSuppression.Scope.ALL and suppression.scope != scope:
            suppression.scope, suppression.reason, suppression.detail = scope, reason, detail
            suppression.save(update_fields=["scope", "reason", "detail"])
        pending = EmailQueue.objects.filter(to_email=email, status=EmailStatus.PENDING)
        if suppression.scope == EmailSuppression.Scope.MARKETING:
            pending = pending.filter(category=EmailCategory.MARKETING)
        pending.update(
            status=EmailStatus.CANCELLED, last_error=f"suppressed: {suppression.reason}", updated_at=timezone.now()
        )
    return suppression


def suppression_remove(*, suppression: EmailSuppression) -> None:
    suppression.delete()


def marketing_unsubscribe(*, email: str, email_id: str | None = None, reason: str = "unsubscribe") -> EmailSuppression:
    """Withdraw marketing consent for an address: idempotent, needs no login.

    Adds a marketing suppression (clinical and account mail still go), sets the matching
    user's profile marketing_consent False, stamps `unsubscribed_at` on the campaign metric
    of the email it came from, and calls every registered unsubscribe handler.
    """
    email = normalize_email(email)
    with transaction.atomic():
        suppression = suppression_add(email=email, reason=EmailSuppression.Reason.UNSUBSCRIBE, scope="marketing")
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is not None:
            try:
                profile = user.profile
            except ObjectDoesNotExist:
                profile = None
            if profile is not None and profile.marketing_consent:
                profile.marketing_consent = False
                profile.save(update_fields=["marketing_consent"])
        if email_id:
            EmailCampaignMetric.objects.filter(email_id=email_id, unsubscribed_at__isnull=True).update(
                unsubscribed_at=timezone.now()
            )
        EmailSequenceEnrollment.objects.filter(
            email=email, status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED], sequence__category="marketing"
        ).update(status=EnrollmentStatus.STOPPED, stop_reason="unsubscribed", next_due_at=None)
        for handler in unsubscribe_handlers():
            handler(email=email, reason=reason)
    return suppression
