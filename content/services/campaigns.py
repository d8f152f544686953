"""Newsletter campaigns (docs/adr/0072): drafts, scheduling, batched idempotent sending, cancelling."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from bloom.sanitize import EMAIL, html_to_text, sanitize_html
from notifications import rendering
from notifications import services as notification_services

from ..merge_tags import merge_tag_errors
from ..models import CampaignStatus, NewsletterCampaign, Subscriber
from ..selectors import segment_recipient_list

if TYPE_CHECKING:
    from accounts.models import User


CAMPAIGN_BATCH_SIZE = 500
CAMPAIGN_TEMPLATE = "content/newsletter"
_MERGE_FIELDS = ("subject", "preheader", "body_html")


def campaign_merge_tags_check(*, campaign: NewsletterCampaign) -> None:
    """Raise ValidationError naming each field whose merge tags are unknown or malformed."""
    errors = {field: merge_tag_errors(getattr(campaign, field)) for field in _MERGE_FIELDS}
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def campaign_audience_check(*, segment) -> int:
    """The number of confirmed subscribers a campaign to `segment` reaches now (None: everyone).

    Raises ValidationError on the segment field when that is 0 and the campaign is being
    scheduled or sent: a campaign that reaches nobody is never marked sent (issue 14 point 6).
    """
    count = segment_recipient_list(segment=segment).count()
    if count == 0:
        audience = f"the segment “{segment}”" if segment is not None else "the newsletter"
        raise ValidationError(
            {
                "segment": (
                    f"{audience[0].upper()}{audience[1:]} has no confirmed subscribers, so this campaign would reach "
                    "nobody. Choose another segment, or keep it as a draft until people have confirmed."
                )
            }
        )
    return count


@transaction.atomic
def campaign_save(*, campaign: NewsletterCampaign, user: User) -> NewsletterCampaign:
    """Save a draft or scheduled campaign: body sanitised; a send time makes it scheduled,
    clearing it makes it a draft again. Sending, sent and cancelled campaigns are frozen.
    Scheduling is refused (ValidationError on the segment) while the audience has no
    confirmed subscriber; unknown or malformed merge tags are refused (ValidationError on
    the field that has them)."""
    if not campaign._state.adding:
        status = NewsletterCampaign.objects.select_for_update().values_list("status", flat=True).get(pk=campaign.pk)
        if status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise ApplicationError("This campaign has been sent or cancelled and can no longer change.")
        campaign.status = status
    else:
        campaign.created_by = campaign.created_by or user
    campaign_merge_tags_check(campaign=campaign)
    if campaign.scheduled_at:
        campaign_audience_check(segment=campaign.segment)
    campaign.body_html = sanitize_html(campaign.body_html, EMAIL)
    campaign.status = CampaignStatus.SCHEDULED if campaign.scheduled_at else CampaignStatus.DRAFT
    campaign.save()
    return campaign


@transaction.atomic
def campaign_send_start(*, campaign: NewsletterCampaign) -> NewsletterCampaign:
    """Mark a draft or scheduled campaign as sending and enqueue `campaign_send_task` after commit.

    Idempotent for a campaign already sending (the task is enqueued again, which is safe).
    Refused (ApplicationError, nothing changed) when the audience has no confirmed subscriber.
    """
    from bloom.tasks import enqueue

    from ..tasks import campaign_send_task

    campaign = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
        raise ApplicationError(f"This campaign is {campaign.get_status_display().lower()} and cannot be sent.")
    if campaign.status != CampaignStatus.SENDING:
        try:
            campaign_audience_check(segment=campaign.segment)
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages)) from exc
        campaign.status = CampaignStatus.SENDING
        campaign.send_started_at = timezone.now()
        campaign.save(update_fields=["status", "send_started_at", "updated_at"])
    campaign_id = str(campaign.pk)
    enqueue(campaign_send_task, campaign_id)
    return campaign


def _campaign_context(campaign: NewsletterCampaign) -> dict:
    """What every recipient's email shares, computed once per campaign (or batch); the
    recipient's own parts (first name; email and unsubscribe link from the outbox) are
    filled in by the template's `merged` tags when the outbox renders each row."""
    body_html = sanitize_html(campaign.body_html, EMAIL)
    return {
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "first_name": "",
        "campaign_id": str(campaign.pk),
    }


def campaign_preview(*, campaign: NewsletterCampaign, subscriber: Subscriber) -> dict:
    """The campaign rendered for `subscriber` exactly as the outbox renders it when sending
    (same template, same context, CSS inlined), minus open/click tracking; the unsubscribe
    link is a preview one. Returns {"subject", "html", "text"}; queues nothing."""
    context = {
        "site_url": settings.SITE_URL,
        "site_name": "Bloom Psychology",
        "recipient_email": subscriber.email,
        **_campaign_context(campaign),
        "first_name": subscriber.first_name,
        "unsubscribe_url": absolute_url(reverse("notifications:unsubscribe", args=["preview"])),
    }
    rendered = rendering.render_template(CAMPAIGN_TEMPLATE, context)
    return {"subject": rendered.subject, "html": rendering.inline_css(rendered.html_body), "text": rendered.text_body}


def campaign_send(*, campaign: NewsletterCampaign, batch_size: int = CAMPAIGN_BATCH_SIZE) -> int:
    """Queue one marketing email per confirmed subscriber of the campaign's segment.

    Works in batches of `batch_size` subscribers, each in its own transaction that locks
    the campaign row. Idempotent: every email carries the key `campaign:<id>:<subscriber>`,
    so a re-run (retried task, lost worker) queues only what is missing and
    `recipients_count` counts each subscriber once (the rows really inserted). Each batch is
    queued with `email_enqueue_bulk` (the same rows `email_enqueue` would make, refusals
    included: suppressed, no consent, a member on a pause), and the drain is woken as each
    batch commits, so sending starts while later batches are queued. Stops between batches if the campaign was cancelled; marks it
    sent after the last batch. Returns how many emails this run queued.
    """
    recipients = segment_recipient_list(segment=campaign.segment).only("id", "email", "first_name").order_by("id")
    queued = 0
    last_id = None
    shared = None
    while True:
        with transaction.atomic():
            locked = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
            if locked.status != CampaignStatus.SENDING:
                return queued
            page = recipients if last_id is None else recipients.filter(id__gt=last_id)
            batch = list(page[:batch_size])
            if not batch and not locked.recipients_count:
                # The audience emptied between starting and sending: back to draft, never "Sent" to nobody.
                locked.status = CampaignStatus.DRAFT
                locked.scheduled_at = None
                locked.send_started_at = None
                locked.save(update_fields=["status", "scheduled_at", "send_started_at", "updated_at"])
                return queued
            if not batch:
                locked.status = CampaignStatus.SENT
                locked.sent_at = timezone.now()
                locked.save(update_fields=["status", "sent_at", "updated_at"])
                return queued
            # One call per batch: the template rendered once, the refusal checks and the inserts
            # set-based, a key a previous run already queued skipped (notifications/services/bulk.py).
            if shared is None:
                shared = _campaign_context(locked)  # the campaign is frozen while it sends
            new = notification_services.email_enqueue_bulk(
                template=CAMPAIGN_TEMPLATE,
                shared_context=shared,
                recipients=[
                    notification_services.BulkRecipient(
                        email=subscriber.email,
                        context={"first_name": subscriber.first_name},
                        idempotency_key=f"campaign:{locked.pk}:{subscriber.pk}",
                    )
                    for subscriber in batch
                ],
                category=notification_services.EmailCategory.MARKETING,
                priority=notification_services.EmailPriority.LOW,
                campaign_id=locked.pk,
            )
            if new:
                NewsletterCampaign.objects.filter(pk=locked.pk).update(recipients_count=F("recipients_count") + new)
            queued += new
            last_id = batch[-1].pk


def campaign_test_send(*, campaign: NewsletterCampaign, user: User):
    """Queue the campaign once to the staff member asking (transactional, so their own
    marketing preferences do not block it). Not counted as a recipient."""
    context = {**_campaign_context(campaign), "first_name": user.first_name}
    context["subject"] = f"[Test] {campaign.subject}"
    return notification_services.email_enqueue(
        to=user.email,
        template=CAMPAIGN_TEMPLATE,
        context=context,
        user=user,
        category=notification_services.EmailCategory.TRANSACTIONAL,
        priority=notification_services.EmailPriority.HIGH,
    )


@transaction.atomic
def campaign_cancel(*, campaign: NewsletterCampaign) -> NewsletterCampaign:
    """Cancel a draft, scheduled or sending campaign; a sending one stops before its next batch."""
    campaign = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
        raise ApplicationError(f"This campaign is already {campaign.get_status_display().lower()}.")
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


@transaction.atomic
def campaign_unschedule(*, campaign: NewsletterCampaign) -> NewsletterCampaign:
    """Take a scheduled campaign back to draft (send time cleared, content kept).

    Refused (ApplicationError) once sending has started or the campaign is sent or cancelled.
    """
    campaign = NewsletterCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.SCHEDULED:
        raise ApplicationError(f"This campaign is {campaign.get_status_display().lower()}, not scheduled.")
    campaign.status = CampaignStatus.DRAFT
    campaign.scheduled_at = None
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    return campaign


def campaign_send_due(*, now=None) -> int:
    """Start every scheduled campaign whose time has come (beat, every minute).

    A due campaign whose audience has no confirmed subscriber goes back to draft (its time
    kept) instead of being tried again every minute; staff see it among the drafts.
    """
    now = now or timezone.now()
    started = 0
    due = NewsletterCampaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    for campaign in due.only("id", "segment"):
        try:
            campaign_send_start(campaign=campaign)
            started += 1
        except ApplicationError:
            if not segment_recipient_list(segment=campaign.segment).exists():
                NewsletterCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
                    status=CampaignStatus.DRAFT, updated_at=timezone.now()
                )
            continue
    return started
