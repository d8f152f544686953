"""Writes for screening on the perinatal timeline and crisis routing (docs/adr/0100-0104).

Screening: submitting a questionnaire, sharing a result, skipping a point, reminders.
Crisis routing: the "needs attention" queue of risk alerts, who hears first, escalation.
Reads are in accounts/selectors/screening.py; the questionnaires and their scoring in
accounts/screening.py; the reviewed risk phrases and the clinician lookup registry in
accounts/risk.py.
"""

from __future__ import annotations

import datetime
import json

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.http import client_ip
from bloom.links import absolute_reverse
from notifications.services import EmailCategory, EmailPriority, email_enqueue, notification_create

from ..models import (
    AdminAction,
    AdminActivityLog,
    AdminUser,
    ConsentKind,
    MemberScreeningPoint,
    RiskAlert,
    RiskSource,
    ScreeningPointStatus,
    ScreeningResponse,
    ScreeningSchedulePoint,
    User,
    UserProfile,
)
from ..risk import RISK_CATEGORY_LABELS, risk_categories_found
from ..screening import INSTRUMENTS, instrument_get, perinatal_week, score, urgent_reason_text
from ..selectors import (
    member_local_date,
    member_today,
    paused_members_exist,
    risk_alert_recipient_list,
    screening_points_reached,
    staff_owner_list,
)
from .members import consent_record, member_records_ensure


def screening_submit(
    *,
    member: User,
    instrument: str,
    answers: dict,
    share_with_clinician: bool = False,
    taken_at: datetime.datetime | None = None,
    request=None,
) -> ScreeningResponse:
    """Score and store one completed questionnaire, in one transaction.

    Guarantees: the answers (option positions) are stored encrypted, with the total and band
    from the instrument's published rules (accounts.screening) and her stage and week on the
    perinatal timeline at `taken_at`; an open schedule point for this questionnaire is marked
    completed; an urgent result raises its risk alert (`risk_alert_raise`: alert row, high
    priority email, portal notice) in the same transaction, so a response is never stored
    without its alert. Raises ValidationError for incomplete or unknown answers (nothing stored).
    """
    questionnaire = instrument_get(instrument)
    result = score(questionnaire, answers)
    cleaned = {str(number): position for number, position in sorted(result.answers.items())}
    taken_at = taken_at or timezone.now()
    with transaction.atomic():
        profile = member_records_ensure(user=member)
        taken_on = member_local_date(profile=profile, moment=taken_at)
        response = ScreeningResponse.objects.create(
            user=member,
            instrument=questionnaire.key,
            answers=json.dumps(cleaned),
            total=result.total,
            band=result.band.key,
            urgent=result.urgent,
            taken_at=taken_at,
            perinatal_stage=profile.stage,
            perinatal_week=perinatal_week(
                stage=profile.stage, due_date=profile.due_date, birth_date=profile.baby_birth_date, on=taken_on
            ),
            shared_with_clinician=bool(share_with_clinician),
        )
        if share_with_clinician:
            consent_record(
                user=member, kind=ConsentKind.HEALTH_DATA, granted=True, source="screening_share", request=request
            )
        for point, anchor in screening_points_reached(profile=profile, today=taken_on):
            if point.instrument != questionnaire.key:
                continue
            row, _ = MemberScreeningPoint.objects.get_or_create(user=member, point=point, anchor_date=anchor)
            if row.status != ScreeningPointStatus.COMPLETED:
                row.status, row.response = ScreeningPointStatus.COMPLETED, response
                row.save(update_fields=["status", "response", "updated_at"])
        if result.urgent:
            risk_alert_raise(
                member=member,
                source=RiskSource.SCREENING,
                reason="; ".join(urgent_reason_text(questionnaire, reason) for reason in result.urgent_reasons),
                screening_response=response,
            )
    return response


@transaction.atomic
def screening_share_set(*, member: User, response_id, shared: bool, request=None) -> ScreeningResponse:
    """Share her answers to one questionnaire with her clinician, or stop sharing them.

    Only her own response (another member's raises DoesNotExist); each change appends a
    health-data consent record.
    """
    response = ScreeningResponse.objects.select_for_update().get(pk=response_id, user=member)
    if response.shared_with_clinician != shared:
        response.shared_with_clinician = shared
        response.save(update_fields=["shared_with_clinician"])
        consent_record(
            user=member, kind=ConsentKind.HEALTH_DATA, granted=shared, source="screening_share", request=request
        )
    return response


def screening_point_skip(*, member: User, point_id, today: datetime.date | None = None) -> MemberScreeningPoint:
    """Skip a screening offered to her now; it is not offered again for this pregnancy or birth.

    Idempotent. Raises ApplicationError when the point is not open for her today.
    """
    profile = member_records_ensure(user=member)
    reached = screening_points_reached(profile=profile, today=today or member_today(profile=profile))
    match = next(((point, anchor) for point, anchor in reached if str(point.pk) == str(point_id)), None)
    if match is None:
        raise ApplicationError("That questionnaire isn't open right now.")
    point, anchor = match
    with transaction.atomic():
        row, _ = MemberScreeningPoint.objects.select_for_update().get_or_create(
            user=member, point=point, anchor_date=anchor
        )
        if row.status == ScreeningPointStatus.DUE:
            row.status = ScreeningPointStatus.SKIPPED
            row.save(update_fields=["status", "updated_at"])
    return row


SCREENING_REMINDER_TITLE = "A short questionnaire is here when you're ready"


def screening_reminders_send(*, today: datetime.date | None = None) -> int:
    """Offer each member the screening points she has reached: one portal notice per point, once.

    Idempotent: a point reached is recorded once per member and timeline (unique
    `member_screening_points` row); only the run that records it sends the notice. The
    wording invites, it never says "missed"; she can take or skip it from /screening/.
    Returns the number of notices sent.
    """
    points = list(ScreeningSchedulePoint.objects.filter(is_active=True))
    if not points:
        return 0
    profiles = (
        # Stage and dates are encrypted (docs/adr/0330): SQL keeps those with a date, Python the stage.
        UserProfile.objects.filter(user__is_active=True)
        .filter(Q(due_date__isnull=False) | Q(baby_birth_date__isnull=False))
        # A member on a pause is offered nothing until she is back; the points wait for her.
        .filter(~paused_members_exist(user_ref="user_id"))
        .select_related("user")
        .order_by("pk")
    )
    sent = 0
    for profile in profiles.iterator(chunk_size=500):
        if not (
            (profile.stage == "pregnant" and profile.due_date is not None)
            or (profile.stage == "postpartum" and profile.baby_birth_date is not None)
        ):
            continue
        day = today or member_today(profile=profile)
        for point, anchor in screening_points_reached(profile=profile, today=day, points=points):
            with transaction.atomic():
                row, created = MemberScreeningPoint.objects.get_or_create(
                    user=profile.user, point=point, anchor_date=anchor, defaults={"reminded_at": timezone.now()}
                )
                if not created:
                    continue
                notification_create(
                    member=profile.user,
                    type="screening_offered",
                    title=SCREENING_REMINDER_TITLE,
                    message=(
                        f"{point.name}: a few questions about how you've been feeling, about "
                        f"{INSTRUMENTS[point.instrument].minutes} minutes. "
                        "Take it whenever suits you, or skip it; either is fine."
                    ),
                    data={"url": reverse("accounts:screening"), "point_id": str(point.pk)},
                )
                sent += 1
    return sent


# Crisis routing: the "needs attention" queue (docs/adr/0102, 0103).

RISK_ALERT_SUBJECTS = {
    RiskSource.SCREENING: "A client's screening needs your attention",
    RiskSource.WELLNESS_NOTE: "A client's wellness note needs your attention",
    RiskSource.CONTACT_FORM: "A message from a client needs your attention",
    RiskSource.CHAT: "A client's chat message needs your attention",
}


ESCALATION_PREFIX = "Not yet acknowledged: "


def _risk_alert_send(*, alert: RiskAlert, recipients: list[User], kind: str, subject: str) -> int:
    """One high-priority clinical email and one portal notice per recipient, and the care-team
    inbox (BLOOM_STAFF_ALERT_EMAIL) when no recipient's email could be queued. No answers,
    scores or words of hers, only a link to the alert. Returns the number of emails queued."""
    context = {
        "subject": subject,
        "alert_url": absolute_reverse("admin:accounts_riskalert_change", alert.pk),
        "queue_url": absolute_reverse("admin:accounts_riskalert_changelist") + "?status=open",
        "escalate_minutes": settings.BLOOM_RISK_ALERT_ESCALATE_AFTER,
        "escalation": kind == "escalation",
    }

    def mail(email: str, user: User | None) -> bool:
        return (
            email_enqueue(
                to=email,
                user=user,
                template="accounts/risk_alert",
                context=context,
                category=EmailCategory.CLINICAL,
                priority=EmailPriority.HIGH,
                idempotency_key=f"risk-alert:{kind}:{alert.pk}:{email}",
            )
            is not None
        )

    queued = 0
    for user in recipients:
        queued += mail(user.email, user)
        notification_create(
            member=user,
            type="risk_alert",
            title=subject,
            message="Please open the needs-attention queue in the back office and acknowledge it.",
            data={"risk_alert_id": str(alert.pk), "url": reverse("admin:accounts_riskalert_change", args=[alert.pk])},
            email=False,
        )
    if not queued:
        # Nobody to alert, or every address refused (suppressed): the care-team inbox never is.
        queued += mail(settings.BLOOM_STAFF_ALERT_EMAIL, None)
    return queued


def risk_alert_raise(
    *,
    member: User,
    source: str,
    reason: str,
    screening_response: ScreeningResponse | None = None,
    source_object_id: str = "",
) -> RiskAlert:
    """Put a member in the "needs attention" queue and alert her clinician, in the caller's transaction.

    Writes one `risk_alerts` row; queues one high-priority clinical email per recipient (her
    clinician, else the on-call role, else the owners, else BLOOM_STAFF_ALERT_EMAIL) and one
    portal notice per recipient login. The email names no answer, score or word of hers: only
    that a client needs attention, and the admin link. Each email is keyed on (alert, address).
    """
    with transaction.atomic():
        clinician, recipients = risk_alert_recipient_list(member=member)
        alert = RiskAlert.objects.create(
            user=member,
            source=source,
            reason=reason,
            screening_response=screening_response,
            source_object_id=str(source_object_id)[:64],
            assigned_clinician=clinician,
        )
        _risk_alert_send(
            alert=alert,
            recipients=recipients,
            kind="alert",
            subject=RISK_ALERT_SUBJECTS.get(source, RISK_ALERT_SUBJECTS[RiskSource.SCREENING]),
        )
    return alert


def risk_text_review(*, member: User, text: str, source: str, source_object_id: str = "") -> RiskAlert | None:
    """Flag her own words for a clinician's review when they match the reviewed phrase list
    (accounts.risk); never a diagnosis. The caller shows her the crisis resources.

    At most one open alert per (source, object): saving the same note again while its alert
    waits raises no second one. Returns the alert raised, or None. Other apps (content's
    contact form and chat) call this with their own source.
    """
    categories = risk_categories_found(text)
    if not categories:
        return None
    if (
        source_object_id
        and RiskAlert.objects.filter(
            user=member, source=source, source_object_id=str(source_object_id), acknowledged_at__isnull=True
        ).exists()
    ):
        return None
    words = ", ".join(RISK_CATEGORY_LABELS[category] for category in categories)
    label = RiskSource(source).label.lower()
    return risk_alert_raise(
        member=member,
        source=source,
        reason=f"Words in a {label} matched the reviewed risk phrases ({words}). Read it at its source.",
        source_object_id=source_object_id,
    )


def risk_alert_acknowledge(*, alert: RiskAlert, staff_user: User, note: str = "", request=None) -> bool:
    """A clinician takes the alert: records who and when and writes an audit row
    (`admin_activity_log`). Idempotent: an alert already acknowledged is left as it is
    (returns False)."""
    with transaction.atomic():
        row = RiskAlert.objects.select_for_update().get(pk=alert.pk)
        if row.acknowledged_at is not None:
            return False
        row.acknowledged_by, row.acknowledged_at = staff_user, timezone.now()
        row.acknowledgement_note = note.strip()
        row.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
        AdminActivityLog.objects.create(
            admin_user=AdminUser.objects.filter(user=staff_user).first(),
            user=staff_user,
            action=AdminAction.CHANGE,
            object_type="accounts.riskalert",
            object_id=str(row.pk),
            object_repr=str(row)[:200],
            changes={
                "acknowledged": True,
                "acknowledged_at": row.acknowledged_at.isoformat(),
                "member": str(row.user_id),
            },
            ip_address=client_ip(request),
        )
    return True


def risk_alerts_escalate(*, now: datetime.datetime | None = None) -> int:
    """Escalate each alert still unacknowledged BLOOM_RISK_ALERT_ESCALATE_AFTER minutes after it
    was raised to the owners (owner role and superusers; else BLOOM_STAFF_ALERT_EMAIL), once.

    Due rows are locked with SKIP LOCKED and stamped `escalated_at` in the same transaction
    as their emails and notices, so overlapping runs never escalate one alert twice.
    Returns the number of alerts escalated.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.BLOOM_RISK_ALERT_ESCALATE_AFTER)
    escalated = 0
    with transaction.atomic():
        due = list(
            RiskAlert.objects.select_for_update(skip_locked=True)
            .filter(acknowledged_at__isnull=True, escalated_at__isnull=True, created_at__lte=cutoff)
            .order_by("created_at")
        )
        owners = staff_owner_list() if due else []
        for alert in due:
            alert.escalated_at = now
            alert.save(update_fields=["escalated_at"])
            _risk_alert_send(
                alert=alert,
                recipients=owners,
                kind="escalation",
                subject=ESCALATION_PREFIX
                + RISK_ALERT_SUBJECTS[alert.source][0].lower()
                + RISK_ALERT_SUBJECTS[alert.source][1:],
            )
            escalated += 1
    return escalated
