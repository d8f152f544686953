"""Appointment reminders at configurable offsets, by email and in the portal.

The offsets come from BLOOM_APPOINTMENT_REMINDER_OFFSETS ("48h,2h" by default; units m, h, d).
Each offset owns a window: from the offset down to the next smaller one (the smallest down to
the session's start), so a booking made late gets only the reminders whose window it is still
in, and never two at once. A reminder is claimed in `appointment_reminder_logs` before anything
is written, in one transaction with the portal notice and the outbox row (with its .ics), so a
second beat run, a concurrent worker or a worker killed mid-send never sends it twice; the log
is keyed on the session time, so a session moved in place gets reminders for its new time only.

Quiet hours (docs/adr/0210): a reminder that falls due inside her quiet hours waits for their
end; if by then its window has passed (the session started, or the next reminder is due), it is
not sent and the log says why.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.calendar import calendar_ics, member_zone
from bloom.links import absolute_reverse
from bloom.templatetags.bloom_format import format_money
from notifications.models import EmailQueue
from notifications.selectors import quiet_hours_release_get
from notifications.services import EmailCategory, notification_create

from .calendar import appointment_event
from .models import AppointmentData, AppointmentReminderLog, AppointmentStatus, ReminderChannel

logger = logging.getLogger(__name__)

_OFFSET = re.compile(r"^([1-9][0-9]{0,3})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
BATCH = 500


@dataclass(frozen=True)
class ReminderOffset:
    label: str  # the log's kind, e.g. "48h"
    before: timedelta  # how long before the session it falls due
    until: timedelta  # its window ends this long before the session (the next offset, or 0)


def offset_parse(label: str) -> timedelta:
    """ "48h" -> 48 hours; raises ValueError for anything else ("2 h", "0h", "1w")."""
    match = _OFFSET.match(label.strip())
    if not match:
        raise ValueError(f"{label!r} is not a reminder offset like 48h, 90m or 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def reminder_offsets() -> list[ReminderOffset]:
    """The configured offsets, largest first, each with the end of its window."""
    raw = getattr(settings, "BLOOM_APPOINTMENT_REMINDER_OFFSETS", "48h,2h")
    labels = [label.strip() for label in (raw.split(",") if isinstance(raw, str) else raw) if label.strip()]
    try:
        parsed = sorted({(offset_parse(label), label) for label in labels}, reverse=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"BLOOM_APPOINTMENT_REMINDER_OFFSETS: {exc}") from exc
    if len({delta for delta, _ in parsed}) != len(parsed):
        raise ImproperlyConfigured("BLOOM_APPOINTMENT_REMINDER_OFFSETS names the same offset twice")
    return [
        ReminderOffset(label=label, before=delta, until=parsed[i + 1][0] if i + 1 < len(parsed) else timedelta(0))
        for i, (delta, label) in enumerate(parsed)
    ]


def _window(kind: str) -> ReminderOffset:
    for offset in reminder_offsets():
        if offset.label == kind:
            return offset
    before = offset_parse(kind)  # a kind no longer configured (a direct call): due from its offset to the start
    return ReminderOffset(label=kind, before=before, until=timedelta(0))


def _claimed(kind: str):
    return Exists(
        AppointmentReminderLog.objects.filter(
            appointment=OuterRef("pk"),
            kind=kind,
            channel=ReminderChannel.PORTAL,
            session_starts_at=OuterRef("starts_at"),
        )
    )


def appointment_reminders_due(*, kind: str, now: datetime) -> QuerySet[AppointmentData]:
    """Scheduled, member-linked appointments inside `kind`'s window without that reminder for
    their current time, whose member has not turned appointment reminders off."""
    offset = _window(kind)
    return (
        AppointmentData.objects.filter(
            status=AppointmentStatus.SCHEDULED,
            user__isnull=False,
            user__is_active=True,
            starts_at__gt=now + offset.until,
            starts_at__lte=now + offset.before,
        )
        .exclude(user__preferences__appointment_reminders=False)
        .exclude(_claimed(kind))
        .select_related("user__profile", "user__preferences", "therapist", "policy_acceptance")
        .order_by("starts_at")
    )


def policy_reminder(appointment: AppointmentData) -> str:
    """The cancellation terms she accepted for this booking, in one sentence ("" without any)."""
    policy = appointment.policy_acceptance
    if policy is None:
        return ""
    parts = []
    if policy.late_cancel_fee:
        parts.append(
            f"cancelling less than {policy.window_hours} hours before the session carries a "
            f"{format_money(policy.late_cancel_fee, policy.currency)} late-cancellation fee"
        )
    else:
        parts.append(f"please cancel at least {policy.window_hours} hours ahead if you can")
    if policy.no_show_fee:
        parts.append(f"a missed session carries a {format_money(policy.no_show_fee, policy.currency)} fee")
    return "Under the policy you accepted, " + " and ".join(parts) + ". Rescheduling through Bloom is free."


def _how_soon(*, when: datetime, now: datetime) -> str:
    """ "in about an hour", "in about 5 hours" (today), "tomorrow" or "on Thursday", by her calendar."""
    hours = (when - now).total_seconds() / 3600
    if hours <= 1.5:
        return "in about an hour" if hours > 0.75 else "soon"
    days = (when.date() - now.astimezone(when.tzinfo).date()).days
    if days == 0:
        return f"in about {round(hours)} hours"
    if days == 1:
        return "tomorrow"
    return f"on {when:%A}"


def appointment_reminder_send(*, appointment: AppointmentData, kind: str, now: datetime | None = None) -> bool:
    """Send one reminder now: a portal notice and, when her preferences say so, a clinical email
    with the join link, the policy she accepted and the session as an .ics attachment.

    Guarantees: at most once per (appointment, kind, channel, session time). The appointment row
    is locked and re-read, so a session cancelled or moved since it was selected gets nothing;
    the log row is inserted first under the unique constraint, in the same transaction as the
    notice and the outbox row. Returns True when this call sent it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            AppointmentData.objects.select_for_update(of=("self",))
            # Her preferences too: the notice reads them to decide on the email.
            .select_related("user__profile", "user__preferences", "therapist", "policy_acceptance")
            .filter(pk=appointment.pk, status=AppointmentStatus.SCHEDULED, user__isnull=False)
            .first()
        )
        if current is None or current.starts_at != appointment.starts_at or current.starts_at <= now:
            return False
        try:
            with transaction.atomic():
                portal_log = AppointmentReminderLog.objects.create(
                    appointment=current, kind=kind, channel=ReminderChannel.PORTAL, session_starts_at=current.starts_at
                )
        except IntegrityError:
            return False
        _deliver(current, kind=kind, portal_log=portal_log, now=now)
    return True


def _deliver(appointment: AppointmentData, *, kind: str, portal_log: AppointmentReminderLog, now: datetime) -> None:
    member = appointment.user
    when = timezone.localtime(appointment.starts_at, member_zone(member))
    therapist = str(appointment.therapist) if appointment.therapist else "your Bloom therapist"
    soon = _how_soon(when=when, now=now)
    title = f"Your session {soon}"
    message = f"Your session with {therapist} starts {when:%A %-d %B at %-I:%M %p} ({when.tzname()})."
    ics = calendar_ics(member=member, events=[appointment_event(appointment)], name="Bloom session")
    notification = notification_create(
        member=member,
        type="appointment_reminder",
        title=title,
        message=message,
        data={"appointment_id": str(appointment.pk), "kind": kind},
        email_template="appointments/reminder",
        email_context={
            "therapist_name": therapist,
            "starts_at_local": f"{when:%A %-d %B %Y at %-I:%M %p} ({when.tzname()})",
            "zoom_meeting_url": appointment.zoom_meeting_url or "",
            "location": appointment.location or "",
            "appointments_url": absolute_reverse("appointments:appointment_list"),
            "appointment_url": absolute_reverse("appointments:appointment_detail", appointment.pk),
            "policy_reminder": policy_reminder(appointment),
            "how_soon": soon,
            "kind": kind,
        },
        category=EmailCategory.CLINICAL,
        email_attachments=[("bloom-session.ics", ics.decode(), "text/calendar")],
    )
    portal_log.notification_id = notification.pk
    portal_log.save(update_fields=["notification_id"])
    # notification_create() keys its email on the notice (documented in notifications.services).
    email = EmailQueue.objects.filter(idempotency_key=f"notify:{notification.pk}").only("pk").first()
    if email is not None:
        AppointmentReminderLog.objects.create(
            appointment=appointment,
            kind=kind,
            channel=ReminderChannel.EMAIL,
            session_starts_at=appointment.starts_at,
            email_queue_id=email.pk,
        )


def _skip(appointment: AppointmentData, *, kind: str, reason: str) -> None:
    try:
        with transaction.atomic():
            AppointmentReminderLog.objects.create(
                appointment=appointment,
                kind=kind,
                channel=ReminderChannel.PORTAL,
                session_starts_at=appointment.starts_at,
                skipped_reason=reason,
            )
    except IntegrityError:
        return  # another run decided first


def appointment_reminders_send(*, now: datetime | None = None) -> int:
    """Send every due reminder (beat task, every few minutes). Idempotent; returns how many were sent.

    A reminder due inside the member's quiet hours waits for their end (a later run sends it);
    when their end falls after its window, it is logged as skipped instead (docs/adr/0210).
    """
    now = now or timezone.now()
    sent = 0
    for offset in reversed(reminder_offsets()):  # the most urgent first
        for appointment in appointment_reminders_due(kind=offset.label, now=now)[:BATCH]:
            release = quiet_hours_release_get(user=appointment.user, when=now)
            if release > now:
                if release >= appointment.starts_at - offset.until:
                    _skip(appointment, kind=offset.label, reason="her quiet hours last past this reminder's time")
                continue
            sent += appointment_reminder_send(appointment=appointment, kind=offset.label, now=now)
    return sent
