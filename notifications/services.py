"""The messaging service: outbox, suppression, tracking, sequences and in-portal notices.

Every other app sends mail and portal notices through the functions here (ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url

from . import rendering, tokens
from .models import (
    EmailAutomationLog,
    EmailCampaignMetric,
    EmailCategory,
    EmailPriority,
    EmailQueue,
    EmailSequence,
    EmailSequenceEnrollment,
    EmailStatus,
    EmailSuppression,
    EmailTemplate,
    EnrollmentStatus,
    SequenceEmail,
    SequenceTrigger,
    StopCondition,
    UserNotification,
)
from .registry import (
    marketing_consent_lookups,
    register_email_template,
    register_marketing_consent_lookup,
    register_sequence_stop_check,
    register_unsubscribe_handler,
    sequence_stop_checks,
    unsubscribe_handlers,
)

__all__ = [
    "EmailCategory",
    "EmailPriority",
    "EmailRefused",
    "notify",
    "queue_email",
    "register_email_template",
    "register_marketing_consent_lookup",
    "register_sequence_stop_check",
    "register_unsubscribe_handler",
    "sequence_trigger",
]

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("notifications.security")

DEFAULT_NOTICE_TEMPLATE = "notifications/notice"


class EmailRefused(ApplicationError):
    """queue_email would not queue this message; `message` says why."""


def normalize_email(address: str) -> str:
    return (address or "").strip().lower()


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

    from .tasks import email_queue_drain_task

    send(email_queue_drain_task)


def _wake_drain_on_commit() -> None:
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is _wake_drain for _sids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_wake_drain)


# --- Who may receive what ------------------------------------------------------------------------


def suppression_for(email: str) -> EmailSuppression | None:
    return EmailSuppression.objects.filter(email=normalize_email(email)).first()


def marketing_consent(*, email: str, user=None) -> bool:
    """Marketing consent: the user's profile when the address belongs to a user, else the lookups."""
    if user is None:
        user = get_user_model().objects.filter(email__iexact=email).first()
    if user is not None:
        try:
            return bool(user.profile.marketing_consent)
        except ObjectDoesNotExist:
            return False
    for lookup in marketing_consent_lookups():
        answer = lookup(email=email)
        if answer is not None:
            return bool(answer)
    return False


def refusal_reason(*, email: str, category: str, user=None) -> str | None:
    """Why mail of this category must not go to this address, or None when it may."""
    suppression = suppression_for(email)
    if suppression is not None and (
        suppression.scope == EmailSuppression.Scope.ALL or category == EmailCategory.MARKETING
    ):
        return f"{email} is on the suppression list ({suppression.get_reason_display().lower()})"
    if category == EmailCategory.MARKETING and not marketing_consent(email=email, user=user):
        return f"{email} has not consented to marketing email"
    return None


# --- The outbox -----------------------------------------------------------------------------------


def queue_email(
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
    raise_on_refusal: bool = False,
) -> EmailQueue | None:
    """Insert one rendered email into the outbox, in the caller's transaction.

    Guarantees: the row carries the final subject, text, CSS-inlined HTML, headers (Message-ID;
    RFC 8058 List-Unsubscribe for marketing) and the MIME message, so the drain only sends.
    Returns None (or raises EmailRefused with `raise_on_refusal`) when the address is
    suppressed or marketing consent is missing; returns None when `idempotency_key` was
    already used (nothing is queued twice). A drain is woken after commit. Campaign mail
    (`campaign_id`) gets an email_campaign_metrics row and open/click tracking; clinical mail
    is never tracked.
    """
    email = normalize_email(to)
    category = EmailCategory(category)
    if not email or "@" not in email:
        raise EmailRefused(f"{to!r} is not an email address")
    reason = refusal_reason(email=email, category=category, user=user)
    if reason is not None:
        logger.info("email refused: the address %s", reason.removeprefix(email).strip())  # no address in logs
        if raise_on_refusal:
            raise EmailRefused(reason)
        return None
    if idempotency_key and EmailQueue.objects.filter(idempotency_key=idempotency_key).exists():
        return None

    row = EmailQueue(
        id=uuid.uuid4(),
        to_email=email,
        user=user if getattr(user, "pk", None) else None,
        from_email=settings.DEFAULT_FROM_EMAIL,
        template_key=template or "",
        context=_json_safe(context),
        category=category,
        priority=int(priority),
        scheduled_at=scheduled_at or timezone.now(),
        idempotency_key=idempotency_key or None,
        campaign_id=campaign_id,
        sequence_step=sequence_step,
    )
    _render_into(row, subject=subject, text_body=text_body, html_body=html_body, extra_headers=headers or {})
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


def _render_into(row: EmailQueue, *, subject: str, text_body: str, html_body: str, extra_headers: dict) -> None:
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


# --- Suppression and unsubscribe ------------------------------------------------------------------


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


# --- Tracking -----------------------------------------------------------------------------------


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


# --- In-portal notices ----------------------------------------------------------------------------


def _wants_email(member) -> bool:
    try:
        return bool(member.preferences.wants_email)
    except ObjectDoesNotExist:
        return True


def notify(
    *,
    member,
    type: str,  # noqa: A002 - the seed's column name, part of the shared interface
    title: str,
    message: str = "",
    data: dict | None = None,
    email_template: str | None = None,
    email_context: dict | None = None,
    category: str = EmailCategory.TRANSACTIONAL,
    email: bool = True,
) -> UserNotification:
    """Write a portal notice and, when the member's preferences say so, queue the same by email.

    The email (template `email_template`, else notifications/notice) is keyed on the notice,
    so it is queued at most once; the whole call is one transaction. `email=False` writes the
    notice only, for callers that queue their own mail (a risk alert mails at high priority,
    whatever the recipient's preferences).
    """
    with transaction.atomic():
        notification = UserNotification.objects.create(
            user=member, type=type, title=title, message=message, data=_json_safe(data)
        )
        if email and _wants_email(member):
            queue_email(
                to=member.email,
                user=member,
                template=email_template or DEFAULT_NOTICE_TEMPLATE,
                context={
                    "title": title,
                    "message": message,
                    "notification_type": type,
                    "notifications_url": absolute_url(reverse("notifications:notification_list")),
                    **(email_context or {}),
                },
                category=category,
                idempotency_key=f"notify:{notification.pk}",
            )
    return notification


def notification_mark_read(*, member, notification_id) -> UserNotification:
    """Mark one of the member's notices read; another member's notice raises DoesNotExist."""
    notification = UserNotification.objects.get(pk=notification_id, user=member)
    if not notification.read:
        notification.read, notification.read_at = True, timezone.now()
        notification.save(update_fields=["read", "read_at"])
    return notification


def notification_mark_all_read(*, member) -> int:
    return UserNotification.objects.filter(user=member, read=False).update(read=True, read_at=timezone.now())


# --- Sequences ------------------------------------------------------------------------------------


def sequence_trigger(*, trigger: str, email: str, user=None, context: dict | None = None) -> None:
    """Enroll the address in every active sequence with this trigger (once per sequence).

    Runs in the caller's transaction; steps due at once are queued before it returns.
    """
    trigger = SequenceTrigger(trigger)
    email = normalize_email(email)
    now = timezone.now()
    for sequence in EmailSequence.objects.filter(trigger=trigger, status=EmailSequence.Status.ACTIVE):
        first = sequence.steps.order_by("position").first()
        enrollment, created = EmailSequenceEnrollment.objects.get_or_create(
            sequence=sequence,
            email=email,
            defaults={
                "user": user if getattr(user, "pk", None) else None,
                "context": {**_json_safe(context), "_member": bool(getattr(user, "pk", None))},
                "started_at": now,
                "next_due_at": now + first.delay if first else None,
                "status": EnrollmentStatus.ACTIVE if first else EnrollmentStatus.COMPLETED,
            },
        )
        if created and enrollment.next_due_at is not None and enrollment.next_due_at <= now:
            _enrollment_advance(enrollment, now=now)


def _stop_reason(enrollment: EmailSequenceEnrollment) -> str | None:
    sequence = enrollment.sequence
    conditions = set(sequence.stop_conditions)
    suppression = suppression_for(enrollment.email)
    if (
        StopCondition.UNSUBSCRIBED in conditions
        and suppression is not None
        and suppression.reason in (EmailSuppression.Reason.UNSUBSCRIBE, EmailSuppression.Reason.COMPLAINT)
    ):
        return "unsubscribed"
    if (
        StopCondition.SUPPRESSED in conditions
        and suppression is not None
        and (suppression.scope == EmailSuppression.Scope.ALL or sequence.category == EmailCategory.MARKETING)
    ):
        return "suppressed"
    if (
        StopCondition.ACCOUNT_DELETED in conditions
        and enrollment.context.get("_member")
        and (enrollment.user is None or not enrollment.user.is_active)
    ):
        return "account_deleted"
    checks = sequence_stop_checks()
    for name in sorted(conditions):
        check = checks.get(name)
        if check is not None and check(
            email=enrollment.email, user=enrollment.user, sequence=sequence, context=enrollment.context
        ):
            return name
    return None


def _log(enrollment, event: str, *, step=None, queued=None, reason: str = "") -> None:
    EmailAutomationLog.objects.create(
        enrollment=enrollment,
        sequence_id=enrollment.sequence_id,
        step=step,
        email=enrollment.email,
        queued_email=queued,
        event=event,
        reason=reason,
    )


def _enrollment_advance(enrollment: EmailSequenceEnrollment, *, now: datetime) -> None:
    """Handle every step of one enrollment that is due (the caller holds its row lock)."""
    steps = list(enrollment.sequence.steps.order_by("position"))
    while enrollment.status == EnrollmentStatus.ACTIVE and enrollment.next_due_at and enrollment.next_due_at <= now:
        reason = _stop_reason(enrollment)
        if reason is not None:
            enrollment.status, enrollment.stop_reason, enrollment.next_due_at = EnrollmentStatus.STOPPED, reason, None
            _log(enrollment, EmailAutomationLog.Event.STOPPED, reason=reason)
            break
        step = steps[enrollment.current_step] if enrollment.current_step < len(steps) else None
        if step is None:
            enrollment.status, enrollment.next_due_at = EnrollmentStatus.COMPLETED, None
            break
        try:
            queued = queue_email(
                to=enrollment.email,
                user=enrollment.user,
                template=step.template_key or None,
                subject=step.subject,
                text_body=step.text_body,
                html_body=step.html_body,
                context={k: v for k, v in enrollment.context.items() if not k.startswith("_")},
                category=enrollment.sequence.category,
                priority=EmailPriority.LOW,
                idempotency_key=f"sequence:{enrollment.pk}:{step.position}",
                sequence_step=step,
                raise_on_refusal=True,
            )
        except EmailRefused as exc:
            _log(enrollment, EmailAutomationLog.Event.SKIPPED, step=step, reason=exc.message)
        else:
            if queued is None:
                _log(enrollment, EmailAutomationLog.Event.SKIPPED, step=step, reason="already queued")
            else:
                _log(enrollment, EmailAutomationLog.Event.QUEUED, step=step, queued=queued)
        enrollment.current_step += 1
        following = steps[enrollment.current_step] if enrollment.current_step < len(steps) else None
        if following is None:
            enrollment.status, enrollment.next_due_at = EnrollmentStatus.COMPLETED, None
            _log(enrollment, EmailAutomationLog.Event.COMPLETED)
        else:
            enrollment.next_due_at = enrollment.started_at + following.delay
    enrollment.save(update_fields=["status", "stop_reason", "next_due_at", "current_step", "updated_at"])


def sequence_enrollments_advance(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue every due step of active enrollments in active sequences; returns enrollments handled.

    Each enrollment is locked (SKIP LOCKED) and handled in its own transaction, so two beats
    never queue the same step (the idempotency key guards it as well).
    """
    now = now or timezone.now()
    handled = 0
    while handled < limit:
        with transaction.atomic():
            enrollment = (
                EmailSequenceEnrollment.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("sequence", "user")
                .filter(
                    status=EnrollmentStatus.ACTIVE,
                    next_due_at__lte=now,
                    sequence__status=EmailSequence.Status.ACTIVE,
                    sequence__archived_at__isnull=True,
                )
                .order_by("next_due_at")
                .first()
            )
            if enrollment is None:
                break
            _enrollment_advance(enrollment, now=now)
        handled += 1
    return handled


def sequence_set_status(*, sequence: EmailSequence, status: str) -> None:
    """Pause or resume a whole sequence; paused sequences queue nothing until resumed."""
    EmailSequence.all_objects.filter(pk=sequence.pk).update(status=status, updated_at=timezone.now())


def enrollment_pause(*, enrollment: EmailSequenceEnrollment) -> bool:
    return bool(
        EmailSequenceEnrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
            status=EnrollmentStatus.PAUSED, updated_at=timezone.now()
        )
    )


def enrollment_resume(*, enrollment: EmailSequenceEnrollment) -> bool:
    return bool(
        EmailSequenceEnrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.PAUSED).update(
            status=EnrollmentStatus.ACTIVE, updated_at=timezone.now()
        )
    )


def automation_log_sent(*, email: EmailQueue) -> None:
    """Record that a sequence email went out (called by the drain)."""
    enrollment = (
        EmailSequenceEnrollment.objects.filter(
            sequence_id=email.sequence_step.sequence_id, email=email.to_email
        ).first()
        if email.sequence_step_id
        else None
    )
    if enrollment is not None:
        _log(enrollment, EmailAutomationLog.Event.SENT, step=email.sequence_step, queued=email)


# --- Templates ------------------------------------------------------------------------------------


def email_template_test_send(*, template: EmailTemplate, to: str) -> EmailQueue | None:
    """Queue the template rendered with its sample data to a staff member's own address."""
    context = rendering.sample_context(template.key)
    rendered = rendering.RenderedEmail(
        subject="[TEST] " + rendering._clean_subject(rendering._render(template.subject, context, autoescape=False)),
        text_body=rendering._render(template.text_template, context, autoescape=False),
        html_body=rendering._render(template.html_template, context, autoescape=True)
        if template.html_template.strip()
        else "",
    )
    return queue_email(
        to=to,
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        priority=EmailPriority.HIGH,
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


def backoff_delay(retry_count: int) -> timedelta:
    base = getattr(settings, "BLOOM_EMAIL_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(retry_count - 1, 0), 6 * 3600))
