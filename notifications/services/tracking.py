"""Tracking: signed open/click/unsubscribe tokens (ADR 0022) and the provider's delivery events."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bloom.text import normalize_email

from .. import tokens
from ..models import EmailCampaignMetric, EmailCategory, EmailQueue, EmailSuppression
from .suppression import marketing_unsubscribe, suppression_add

security_logger = logging.getLogger("notifications.security")


class TrackingRejected(Exception):
    """A tracking request did not verify; nothing was changed."""


def tracking_open_record(*, token: str) -> None:
    """Stamp the first open of a campaign email. Forged tokens raise TrackingRejected."""
    try:
        email_id = tokens.open_token_read(token)
        uuid.UUID(email_id)
    except (tokens.InvalidToken, ValueError) as exc:
        security_logger.warning("rejected open-tracking token: %s", exc)
        raise TrackingRejected(str(exc)) from exc
    EmailCampaignMetric.objects.filter(email_id=email_id, opened_at__isnull=True).update(opened_at=timezone.now())


def tracking_click_record(*, token: str) -> str:
    """Record a click and return the destination: only a link stored with that email.

    Forged or out-of-range tokens raise TrackingRejected and change nothing.
    """
    try:
        email_id, index = tokens.click_token_read(token)
        email = EmailQueue.objects.only("tracked_links", "campaign_id").get(pk=uuid.UUID(email_id))
    except (tokens.InvalidToken, ValueError, EmailQueue.DoesNotExist) as exc:
        security_logger.warning("rejected click-tracking token: %s", exc)
        raise TrackingRejected(str(exc)) from exc
    if not 0 <= index < len(email.tracked_links):
        security_logger.warning("click token for email %s names link %s it does not have", email_id, index)
        raise TrackingRejected("unknown link")
    url = email.tracked_links[index]
    now = timezone.now()
    metric = EmailCampaignMetric.objects.select_for_update().filter(email_id=email.pk)
    with transaction.atomic():
        row = metric.first()
        if row is not None:
            row.clicked_at = row.clicked_at or now
            row.opened_at = row.opened_at or now
            row.click_data = [*(row.click_data or []), {"url": url, "at": now.isoformat()}]
            row.save(update_fields=["clicked_at", "opened_at", "click_data"])
    return url


def unsubscribe_token_check(*, token: str) -> tuple[str, str | None]:
    """The address (and email id) an unsubscribe token names; forged tokens raise TrackingRejected."""
    try:
        return tokens.unsubscribe_token_read(token)
    except tokens.InvalidToken as exc:
        security_logger.warning("rejected unsubscribe token: %s", exc)
        raise TrackingRejected(str(exc)) from exc


def delivery_event_record(
    *,
    event_type: str,
    recipient: str,
    message_id: str | None = None,
    timestamp: datetime | None = None,
    description: str = "",
) -> None:
    """Apply a provider's normalised delivery event (anymail tracking signal).

    Bounces suppress the address for all mail; complaints suppress at once (all mail, unless
    the complaint was about marketing mail, which then only stops marketing). Campaign
    metrics get `bounced_at`/`bounce_type`.
    """
    recipient = normalize_email(recipient)
    if not recipient:
        return
    at = timestamp or timezone.now()
    email = None
    if message_id:
        email = EmailQueue.objects.filter(message_id=message_id).only("id", "category").first()
    with transaction.atomic():
        if event_type == "bounced":
            suppression_add(email=recipient, reason=EmailSuppression.Reason.HARD_BOUNCE, detail=description[:500])
        elif event_type == "complained":
            scope = (
                EmailSuppression.Scope.MARKETING
                if email is not None and email.category == EmailCategory.MARKETING
                else EmailSuppression.Scope.ALL
            )
            suppression_add(
                email=recipient, reason=EmailSuppression.Reason.COMPLAINT, scope=scope, detail=description[:500]
            )
            marketing_unsubscribe(email=recipient, reason="complaint")
        else:
            return
        if email is not None:
            EmailCampaignMetric.objects.filter(email_id=email.pk, bounced_at__isnull=True).update(
                bounced_at=at, bounce_type="complaint" if event_type == "complained" else "hard"
            )
