"""Registration notices: queued after commit, sent once per registration and kind."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bloom.links import absolute_reverse

from ..models import (
    RegistrationStatus,
    WorkshopRegistration,
    WorkshopWaitlistEntry,
)


def registration_notice_queue(*, kind: str, registration_id) -> None:
    """Send the notice of `kind` for the registration from a task, after the current transaction commits."""
    from bloom.tasks import enqueue

    from ..tasks import workshop_notice_send_task

    enqueue(workshop_notice_send_task, kind, str(registration_id))


NOTICES = {
    "registered": ("workshop_registered", "You're registered: {title}", "workshops/registered"),
    "waitlisted": ("workshop_waitlisted", "You're on the waitlist: {title}", "workshops/waitlisted"),
    "seat_offered": ("workshop_seat_offered", "A seat opened up: {title}", "workshops/seat_offered"),
}


def registration_notice_send(*, kind: str, registration_id) -> bool:
    """Tell the member about their registration (portal notice, and email per their preferences).

    Idempotent: one notice of each kind per registration. Sends nothing when the
    registration has moved on since the notice was queued (a cancelled seat gets no
    confirmation). Returns whether a notice was sent.
    """
    from notifications.models import UserNotification
    from notifications.services import notification_create, sequence_trigger

    registration = WorkshopRegistration.objects.select_related("workshop", "user").filter(pk=registration_id).first()
    expected = {
        "registered": RegistrationStatus.REGISTERED,
        "waitlisted": RegistrationStatus.WAITLISTED,
        "seat_offered": RegistrationStatus.WAITLISTED,
    }[kind]
    if registration is None or registration.status != expected:
        return False
    workshop = registration.workshop
    notice_type, title, template = NOTICES[kind]
    already = UserNotification.objects.filter(
        user=registration.user, type=notice_type, data__registration_id=str(registration.pk)
    )
    if already.exists():  # a retried task: the notice went out the first time
        return False
    entry = WorkshopWaitlistEntry.objects.filter(registration=registration).first()
    zone = ZoneInfo(workshop.timezone)
    when = "%A %d %B %Y, %H:%M %Z"
    context = {
        "workshop_title": workshop.title,
        "starts_at": workshop.starts_at.astimezone(zone).strftime(when),
        "timezone": workshop.timezone,
        "workshop_url": absolute_reverse("workshops:workshop_detail", workshop.slug),
        "offer_expires_at": entry.offer_expires_at.astimezone(zone).strftime(when)
        if entry and entry.offer_expires_at
        else "",
    }
    notification_create(
        member=registration.user,
        type=notice_type,
        title=title.format(title=workshop.title),
        data={"workshop_id": str(workshop.pk), "registration_id": str(registration.pk)},
        email_template=template,
        email_context=context,
    )
    if kind == "registered":
        sequence_trigger(
            trigger="workshop_registered", email=registration.user.email, user=registration.user, context=context
        )
    return True
