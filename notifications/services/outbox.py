"""The outbox: rendering a message into an `email_queue` row in the caller's transaction (ADR 0020,
0021), requeueing and cancelling rows, and the sweep that recovers expired leases."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from bloom.text import normalize_email

from .. import rendering, tokens
from ..models import EmailCampaignMetric, EmailCategory, EmailPriority, EmailQueue, EmailStatus, SequenceEmail
from ..registry import pause_checks
from ..selectors import mail_may_wait, quiet_hours_release_get, refusal_reason_get, user_for_email_get

logger = logging.getLogger(__name__)


class EmailRefused(ApplicationError):
    """email_enqueue would not queue this message; `message` says why."""


def _json_safe(value: dict | None) -> dict:
    """Context is stored as JSON: dates, UUIDs and decimals survive, anything else becomes its str()."""
    if not value:
        return {}
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def _wake_drain() -> None:
    """Ask a worker to drain now, without waiting on a missing Redis (bloom.tasks.send).

    Losing this message is harmless: the row is safe in PostgreSQL and the beat sweeper
    wakes the drain for due rows too.
    """
    from bloom.tasks import send

    from ..tasks import email_queue_drain_task

    send(email_queue_drain_task)


def _wake_drain_on_commit() -> None:
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is _wake_drain for _sids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_wake_drain)


def email_enqueue(
    *,
    to: str,
    subject: str = "",
    template: str | None = None,
    context: dict | None = None,
    text_body: str = "",
    html_body: str = "",
    user=None,
    category: str = EmailCategory.TRANSACTIONAL,
    priority: int = EmailPriority.NORMAL,
    scheduled_at: datetime | None = None,
    idempotency_key: str | None = None,
    campaign_id=None,
    sequence_step: SequenceEmail | None = None,
    headers: dict | None = None,
    attachments: list[rendering.Attachment] | None = None,
    raise_on_refusal: bool = False,
) -> EmailQueue | None:
    """Insert one rendered email into the outbox, in the caller's transaction.

    Guarantees: the row carries the final subject, text, CSS-inlined HTML, headers (Message-ID;
    RFC 8058 List-Unsubscribe for marketing) and the MIME message, so the drain only sends.
    Returns None (or raises EmailRefused with `raise_on_refusal`) when the address is
    suppressed or marketing consent is missing; returns None when `idempotency_key` was
    already used (nothing is queued twice). A drain is woken after commit. Campaign mail
    (`campaign_id`) gets an email_campaign_metrics row and open/click tracking; clinical mail
    is never tracked. `attachments` ((filename, content, MIME type), e.g. an .ics) are kept in
    the stored MIME message only, and every backend receives them (docs/adr/0211).
    """
    email = normalize_email(to)
    category = EmailCategory(category)
    if not email or "@" not in email:
        raise EmailRefused(f"{to!r} is not an email address")
    may_wait = mail_may_wait(category=category, priority=priority)
    recipient = user
    if recipient is None and may_wait:
        # One lookup serves the consent check and quiet hours (campaign mail names no user).
        recipient = user_for_email_get(email=email)
    reason = refusal_reason_get(email=email, category=category, user=recipient)
    if reason is None and may_wait and recipient is not None and any(c(user=recipient) for c in pause_checks()):
        reason = f"{email} is taking a break (a member's pause holds newsletters and nudges)"
    if reason is not None:
        logger.info("email refused: the address %s", reason.removeprefix(email).strip())  # no address in logs
        if raise_on_refusal:
            raise EmailRefused(reason)
        return None
    if idempotency_key and EmailQueue.objects.filter(idempotency_key=idempotency_key).exists():
        return None
    due_at = scheduled_at or timezone.now()
    if may_wait:
        due_at = quiet_hours_release_get(user=recipient, when=due_at)

    row = EmailQueue(
        id=uuid.uuid4(),
        to_email=email,
        user=user if getattr(user, "pk", None) else None,
        from_email=settings.DEFAULT_FROM_EMAIL,
        template_key=template or "",
        context=_json_safe(context),
        category=category,
        priority=int(priority),
        scheduled_at=due_at,
        idempotency_key=idempotency_key or None,
        campaign_id=campaign_id,
        sequence_step=sequence_step,
    )
    _render_into(
        row,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        extra_headers=headers or {},
        attachments=attachments or [],
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        if idempotency_key and EmailQueue.objects.filter(idempotency_key=idempotency_key).exists():
            return None
        raise
    if campaign_id:
        EmailCampaignMetric.objects.create(campaign_id=campaign_id, email=row, recipient_email=email)
    _wake_drain_on_commit()
    return row


def _render_into(
    row: EmailQueue,
    *,
    subject: str,
    text_body: str,
    html_body: str,
    extra_headers: dict,
    attachments: list[rendering.Attachment],
) -> None:
    """Fill the row's subject, bodies, headers, tracked links and MIME message."""
    tracked = row.category == EmailCategory.MARKETING and row.campaign_id is not None
    context = {
        "site_url": settings.SITE_URL,
        "site_name": "Bloom Psychology",
        "recipient_email": row.to_email,
        **row.context,
    }
    headers = {str(k): str(v) for k, v in extra_headers.items()}
    headers["Message-ID"] = rendering.make_message_id()
    unsubscribe_url = ""
    if row.category == EmailCategory.MARKETING:
        token = tokens.unsubscribe_token(email=row.to_email, email_id=row.id)
        unsubscribe_url = absolute_url(reverse("notifications:unsubscribe", args=[token]))
        mailto = f"mailto:unsubscribe@{rendering.message_id_domain()}?subject=unsubscribe"
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        context["unsubscribe_url"] = unsubscribe_url

    if row.template_key:
        rendered = rendering.render_template(row.template_key, context)
    else:
        rendered = rendering.render_given(subject=subject, text_body=text_body, html_body=html_body)
    html_source = rendered.html_body
    if not html_source.strip() and rendered.text_body.strip():
        # Text-only system mail (allauth, billing, workshops) still looks like Bloom in HTML clients.
        html_source = rendering.text_as_html(subject=rendered.subject, text=rendered.text_body, context=context)
    html = rendering.inline_css(html_source)
    links: list[str] = []
    if tracked and html:
        html, links = rendering.add_tracking(
            html,
            link_url=lambda index: absolute_url(
                reverse("notifications:track_click", args=[tokens.click_token(row.id, index)])
            ),
            pixel_url=absolute_url(reverse("notifications:track_open", args=[tokens.open_token(row.id)])),
            skip={unsubscribe_url},
        )
    row.subject = rendered.subject
    row.text_body = rendered.text_body
    row.html_body = html
    row.headers = headers
    row.tracked_links = links
    row.message_id = headers["Message-ID"]
    row.mime_message = rendering.build_mime(
        subject=row.subject,
        text_body=row.text_body,
        html_body=row.html_body,
        from_email=row.from_email,
        to=row.to_email,
        headers=headers,
        attachments=attachments,
    )


def email_requeue(*, email: EmailQueue, send_now: bool = False) -> bool:
    """Put a failed, cancelled or pending email back in line (now, with `send_now`).

    Sent and in-flight emails are left alone. Returns whether the row changed.
    """
    changes = {"status": EmailStatus.PENDING, "lease_expires_at": None}
    if send_now:
        changes.update(scheduled_at=timezone.now(), priority=EmailPriority.HIGH)
    if email.status in (EmailStatus.FAILED, EmailStatus.CANCELLED):
        changes.update(retry_count=0, last_error="")
    updated = EmailQueue.objects.filter(
        pk=email.pk, status__in=[EmailStatus.PENDING, EmailStatus.FAILED, EmailStatus.CANCELLED]
    ).update(**changes, updated_at=timezone.now())
    if updated:
        _wake_drain_on_commit()
    return bool(updated)


def email_cancel(*, email: EmailQueue) -> bool:
    """Cancel a pending or failed email; one already claimed or sent is not touched."""
    return bool(
        EmailQueue.objects.filter(pk=email.pk, status__in=[EmailStatus.PENDING, EmailStatus.FAILED]).update(
            status=EmailStatus.CANCELLED, updated_at=timezone.now()
        )
    )


@dataclass(frozen=True)
class SweepResult:
    reclaimed: int
    due: int


def email_queue_sweep(*, now: datetime | None = None) -> SweepResult:
    """Return rows whose lease expired to `pending` and wake the drain when anything is due.

    This is what recovers mail after a worker died mid-batch or Redis lost the wake-up.
    """
    now = now or timezone.now()
    reclaimed = EmailQueue.objects.filter(status=EmailStatus.SENDING, lease_expires_at__lt=now).update(
        status=EmailStatus.PENDING, lease_expires_at=None, updated_at=now
    )
    due = EmailQueue.objects.filter(status=EmailStatus.PENDING, scheduled_at__lte=now).count()
    if due:
        _wake_drain_on_commit()
    return SweepResult(reclaimed=reclaimed, due=due)
