"""Sequences: enrolling addresses on a trigger and queueing each due step (with stop conditions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from bloom.text import normalize_email

from ..models import (
    EmailAutomationLog,
    EmailCategory,
    EmailPriority,
    EmailQueue,
    EmailSequence,
    EmailSequenceEnrollment,
    EmailSuppression,
    EnrollmentStatus,
    SequenceTrigger,
    StopCondition,
)
from ..registry import sequence_stop_checks
from ..selectors import suppression_get
from .outbox import EmailRefused, _json_safe, email_enqueue


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
    suppression = suppression_get(email=enrollment.email)
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
            queued = email_enqueue(
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


def sequence_status_set(*, sequence: EmailSequence, status: str) -> None:
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


def sequence_enrollments_shift(*, user, by: timedelta, not_before: datetime | None = None) -> int:
    """Move every step still to come for this member by `by` (her pause; negative when she comes
    back early), never earlier than `not_before`. Active and paused enrollments of her account or
    her address are moved; finished ones are not. Returns how many were moved."""
    due = EmailSequenceEnrollment.objects.filter(
        Q(user=user) | Q(email=normalize_email(user.email)),
        status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED],
        next_due_at__isnull=False,
    )
    moved = F("next_due_at") + by
    if not_before is not None:
        moved = Greatest(moved, not_before)
    return due.update(next_due_at=moved, updated_at=timezone.now())


def automation_log_record_sent(*, email: EmailQueue) -> None:
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
