"""Newsletter subscribers: double opt-in sign-up, confirmation, unsubscribe and engagement scores."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.apps import apps
from django.core import signing
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from accounts import services as consent_services
from accounts.consent import MARKETING_PURPOSE, NEWSLETTER_REQUEST_SOURCE
from accounts.models import ConsentKind, User
from bloom.exceptions import ApplicationError
from bloom.links import absolute_url, signed_link_read
from bloom.text import normalize_email
from notifications import selectors as notification_selectors
from notifications import services as notification_services

from ..models import Subscriber, SubscriberStatus

logger = logging.getLogger(__name__)


CONFIRM_SALT = "content.subscriber.confirm"
CONFIRM_MAX_AGE = timedelta(days=7)
CONFIRM_RESEND_AFTER = timedelta(minutes=10)


def subscriber_confirm_token(*, subscriber: Subscriber) -> str:
    return signing.dumps({"s": str(subscriber.id), "e": subscriber.email}, salt=CONFIRM_SALT, compress=True)


def subscriber_confirm_url(*, subscriber: Subscriber) -> str:
    path = reverse("content:newsletter_confirm", args=[subscriber_confirm_token(subscriber=subscriber)])
    return absolute_url(path)


@transaction.atomic
def subscriber_subscribe(*, email: str, first_name: str = "", source: str = "", request=None) -> Subscriber:
    """Record a sign-up and queue the double opt-in email (transactional, high priority).

    A confirmed address is left alone and gets no email; others go (back) to pending.
    The confirmation is sent at most once per 10 minutes per address, so the form cannot
    be used to flood someone's inbox. The caller shows the same answer in every case.
    With the visitor's `request`, each confirmation sent records her request in
    `consent_records` (source newsletter_request, her IP and user agent): evidence of the
    first step of the double opt-in, not consent yet (docs/accounts.md "Consent").
    """
    email = normalize_email(email)
    subscriber, created = Subscriber.objects.select_for_update().get_or_create(
        email=email, defaults={"first_name": first_name.strip()[:150], "source": source[:64]}
    )
    if subscriber.status == SubscriberStatus.CONFIRMED:
        return subscriber
    now = timezone.now()
    if not created and subscriber.status == SubscriberStatus.PENDING:
        recently = subscriber.confirmation_sent_at and now - subscriber.confirmation_sent_at < CONFIRM_RESEND_AFTER
        if recently:
            return subscriber
    subscriber.status = SubscriberStatus.PENDING
    subscriber.first_name = subscriber.first_name or first_name.strip()[:150]
    subscriber.source = subscriber.source or source[:64]
    subscriber.confirmation_sent_at = now
    subscriber.save()
    notification_services.email_enqueue(
        to=subscriber.email,
        template="content/subscriber_confirm",
        context={"first_name": subscriber.first_name, "confirm_url": subscriber_confirm_url(subscriber=subscriber)},
        category=notification_services.EmailCategory.TRANSACTIONAL,
        priority=notification_services.EmailPriority.HIGH,
        idempotency_key=f"subscriber-confirm:{subscriber.id}:{int(now.timestamp())}",
    )
    if request is not None:
        consent_services.consent_record(
            user=User.objects.filter(email__iexact=subscriber.email).first(),
            email=subscriber.email,
            kind=ConsentKind.MARKETING,
            granted=True,
            source=NEWSLETTER_REQUEST_SOURCE,
            request=request,
            purpose=MARKETING_PURPOSE,
        )
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str, request=None) -> Subscriber:
    """Confirm the address a signed link was sent to and start the welcome sequence.

    Idempotent: a second click on the link changes nothing and triggers nothing. Only a
    pending subscriber is confirmed, so an old link cannot undo a later unsubscribe. A
    marketing suppression left by an earlier unsubscribe is lifted (fresh double opt-in);
    one from a complaint or bounce is not. The confirmation is her marketing consent:
    recorded with `accounts.services.marketing_consent_set` (IP and user agent from `request`),
    which also turns on the newsletter for the account with this address, if any.
    """
    data = signed_link_read(
        token,
        salt=CONFIRM_SALT,
        max_age=CONFIRM_MAX_AGE,
        expired="This confirmation link has expired. Please sign up again for a new one.",
        invalid="This confirmation link is not valid.",
    )
    subscriber = Subscriber.objects.select_for_update().filter(pk=data.get("s"), email=data.get("e")).first()
    if subscriber is None:
        raise ApplicationError("This confirmation link is not valid.")
    if subscriber.status == SubscriberStatus.CONFIRMED:
        return subscriber
    if subscriber.status != SubscriberStatus.PENDING:
        raise ApplicationError("This link is no longer valid. Please sign up again if you want the newsletter.")
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "updated_at"])
    _lift_unsubscribe_suppression(subscriber.email)
    consent_services.marketing_consent_set(
        email=subscriber.email, granted=True, source="newsletter_confirm", request=request
    )
    notification_services.sequence_trigger(trigger="subscriber_confirmed", email=subscriber.email)
    return subscriber


def _lift_unsubscribe_suppression(email: str) -> None:
    """A confirmed re-subscription is fresh consent: lift an earlier marketing unsubscribe.

    Complaints and bounces stay suppressed (staff decide about those in notifications' admin).
    """
    suppression = notification_selectors.suppression_get(email=email)
    if (
        suppression is not None
        and suppression.reason == suppression.Reason.UNSUBSCRIBE
        and suppression.scope == suppression.Scope.MARKETING
    ):
        notification_services.suppression_remove(suppression=suppression)


_REASON_STATUS = (
    ("complain", SubscriberStatus.COMPLAINED),
    ("spam", SubscriberStatus.COMPLAINED),
    ("bounce", SubscriberStatus.BOUNCED),
)


def subscriber_unsubscribe(*, email: str, reason: str = "") -> int:
    """Mark the subscriber with this address unsubscribed (or bounced / complained, from the
    reason). Registered with notifications as its unsubscribe handler.

    Idempotent: the first `unsubscribed_at` is kept, and a plain unsubscribe never
    overwrites a recorded bounce or complaint. Unknown addresses are ignored.
    """
    reason_text = (reason or "").lower()
    status = next((s for word, s in _REASON_STATUS if word in reason_text), SubscriberStatus.UNSUBSCRIBED)
    now = timezone.now()
    queryset = Subscriber.objects.annotate(email_lower=Lower("email")).filter(email_lower=normalize_email(email))
    if status == SubscriberStatus.UNSUBSCRIBED:
        queryset = queryset.exclude(status__in=[SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED])
    changed = queryset.exclude(status=status).update(status=status, updated_at=now)
    queryset.filter(unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    return changed


ENGAGEMENT_WINDOW = timedelta(days=90)


def subscriber_engagement_recompute(*, now=None) -> int:
    """Recompute every subscriber's engagement score (0-100) from `email_campaign_metrics`.

    Score = (opens + 2 x clicks) / (3 x emails sent) over the last 90 days; no email sent
    in the window scores 0. Reads notifications' metrics by model name; returns how many
    subscribers changed (0 when notifications has no metrics table).
    """
    try:
        metric_model = apps.get_model("notifications", "EmailCampaignMetric")
    except LookupError:
        logger.info("notifications.EmailCampaignMetric does not exist; engagement scores left as they are")
        return 0
    now = now or timezone.now()
    stats = defaultdict(lambda: {"sent": 0, "opened": 0, "clicked": 0})
    rows = (
        metric_model.objects.filter(sent_at__gte=now - ENGAGEMENT_WINDOW)
        .annotate(address=Lower("recipient_email"))
        .values("address")
        .annotate(
            sent=Count("id"),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
    )
    for row in rows:
        stats[row["address"]] = row
    changed = []
    for subscriber in Subscriber.objects.only("id", "email", "engagement_score").iterator(chunk_size=2000):
        row = stats.get(subscriber.email.lower())
        score = 0
        if row and row["sent"]:
            score = min(100, round(100 * (row["opened"] + 2 * row["clicked"]) / (3 * row["sent"])))
        if score != subscriber.engagement_score:
            subscriber.engagement_score = score
            changed.append(subscriber)
    with transaction.atomic():
        Subscriber.objects.bulk_update(changed, ["engagement_score"], batch_size=1000)
        Subscriber.objects.update(engagement_computed_at=now)
    return len(changed)
