"""Writes for workshops: seats and the waitlist, payments, attendance, series progress, feedback.

Lock order, everywhere: the workshop row first (`select_for_update`), then its
registrations and waitlist entries. Every seat decision is made while holding the
workshop lock, so two members racing for the last seat are served one after the other
and capacity is never exceeded.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import User
from bloom.exceptions import ApplicationError
from bloom.links import absolute_reverse

from .models import (
    ACTIVE_WAITLIST_STATUSES,
    SEAT_STATUSES,
    AttendanceSource,
    PaymentStatus,
    RegistrationStatus,
    UserWorkshopSeriesProgress,
    WaitlistStatus,
    Workshop,
    WorkshopAttendance,
    WorkshopFeedback,
    WorkshopRegistration,
    WorkshopSeries,
    WorkshopStatus,
    WorkshopWaitlistEntry,
)

logger = logging.getLogger(__name__)

PURCHASE_KIND = "workshop_registration"


# --- seats ------------------------------------------------------------------------------


def _workshop_lock(workshop_id) -> Workshop:
    """Lock the workshop row (archived ones too: cancellations must still work)."""
    return Workshop.all_objects.select_for_update().get(pk=workshop_id)


def _seats_held(workshop: Workshop) -> int:
    """Seats taken by registrations plus seats held for open waitlist offers (caller holds the lock)."""
    taken = WorkshopRegistration.objects.filter(workshop=workshop, status__in=SEAT_STATUSES).count()
    offered = WorkshopWaitlistEntry.objects.filter(workshop=workshop, status=WaitlistStatus.OFFERED).count()
    return taken + offered


def seats_left(*, workshop: Workshop) -> int:
    """Free seats right now (a snapshot for display; registration decides under the lock)."""
    return max(workshop.capacity - _seats_held(workshop), 0)


def member_active_q(member: User) -> Q:
    """The member's registrations that are not cancelled (at most one per workshop)."""
    return Q(user=member) & ~Q(status=RegistrationStatus.CANCELLED)


def _on_commit_notify(kind: str, object_id) -> None:
    from bloom.tasks import enqueue

    from .tasks import workshop_notice_send_task

    enqueue(workshop_notice_send_task, kind, str(object_id))


@transaction.atomic
def registration_create(*, member: User, workshop: Workshop) -> WorkshopRegistration:
    """Give the member a seat, or a place on the waitlist when the workshop is full.

    Locks the workshop row, so concurrent sign-ups never oversell `capacity`.
    Idempotent: a member who already holds an active registration gets it back unchanged.
    A paid workshop's seat starts with payment_status "pending" (held for
    WORKSHOPS_PAYMENT_HOLD_MINUTES until billing reports the payment). Queues a
    confirmation or waitlist notice after commit.
    """
    locked = _workshop_lock(workshop.pk)
    existing = WorkshopRegistration.objects.filter(member_active_q(member), workshop=locked).first()
    if existing is not None:
        return existing
    if not locked.is_bookable:
        raise ApplicationError("This workshop is not open for registration.")

    registration = WorkshopRegistration(user=member, workshop=locked, amount=locked.price, currency=locked.currency)
    if _seats_held(locked) < locked.capacity:
        registration.status = RegistrationStatus.REGISTERED
        registration.payment_status = PaymentStatus.NOT_REQUIRED if locked.is_free else PaymentStatus.PENDING
        registration.save()
        if locked.is_free:
            _on_commit_notify("registered", registration.pk)
        return registration

    registration.status = RegistrationStatus.WAITLISTED
    registration.payment_status = PaymentStatus.NOT_REQUIRED
    registration.save()
    last = WorkshopWaitlistEntry.objects.filter(workshop=locked).aggregate(last=Max("position"))["last"] or 0
    WorkshopWaitlistEntry.objects.create(workshop=locked, user=member, registration=registration, position=last + 1)
    _on_commit_notify("waitlisted", registration.pk)
    return registration


def _offer_free_seats(workshop: Workshop) -> list[WorkshopWaitlistEntry]:
    """Offer every free seat to the next waiting members, in queue order (caller holds the lock)."""
    if workshop.status != WorkshopStatus.PUBLISHED or workshop.is_archived or workshop.starts_at <= timezone.now():
        return []
    free = workshop.capacity - _seats_held(workshop)
    if free <= 0:
        return []
    now = timezone.now()
    expires = min(now + timedelta(hours=settings.WORKSHOPS_WAITLIST_OFFER_HOURS), workshop.starts_at)
    offered = list(
        WorkshopWaitlistEntry.objects.select_for_update()
        .filter(workshop=workshop, status=WaitlistStatus.WAITING)
        .order_by("position")[:free]
    )
    for entry in offered:
        entry.status = WaitlistStatus.OFFERED
        entry.offered_at = now
        entry.offer_expires_at = expires
        entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
        _on_commit_notify("seat_offered", entry.registration_id)
    return offered


def _cancel_locked(registration: WorkshopRegistration, *, payment_status: str | None = None) -> None:
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = timezone.now()
    fields = ["status", "cancelled_at", "updated_at"]
    if payment_status is not None:
        registration.payment_status = payment_status
        fields.append("payment_status")
    registration.save(update_fields=fields)
    WorkshopWaitlistEntry.objects.filter(registration=registration, status__in=ACTIVE_WAITLIST_STATUSES).update(
        status=WaitlistStatus.CANCELLED
    )


def registration_cancel(*, registration: WorkshopRegistration, refund_reason: str = "") -> WorkshopRegistration:
    """Cancel a seat or waitlist place and offer any freed seat to the next waiting member.

    Locks the workshop, then the registration. Idempotent: cancelling a cancelled
    registration changes nothing. Refuses registrations already marked attended or
    no-show. With `refund_reason` (a member cancelling), a paid seat files a refund
    request with billing after the cancellation commits; staff approve it there.
    """
    with transaction.atomic():
        workshop = _workshop_lock(registration.workshop_id)
        locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
        if locked.status == RegistrationStatus.CANCELLED:
            return locked
        if locked.status in (RegistrationStatus.ATTENDED, RegistrationStatus.NO_SHOW):
            raise ApplicationError(
                "This workshop has already taken place; the registration can no longer be cancelled."
            )
        _cancel_locked(locked)
        _offer_free_seats(workshop)
    if refund_reason and locked.payment_status == PaymentStatus.PAID and locked.payment_id:
        _refund_request(locked, refund_reason)
    return locked


def _refund_request(registration: WorkshopRegistration, reason: str) -> None:
    from billing.services import refund_request_create

    payment = registration.payment
    try:
        refund_request_create(
            member=registration.user,
            payment=payment,
            amount=payment.amount - payment.amount_refunded,
            reason=reason,
        )
    except ApplicationError as exc:
        # Already requested or nothing left to refund: the cancellation stands either way.
        logger.info("no refund request for registration %s: %s", registration.pk, exc.message)


@transaction.atomic
def waitlist_offer_accept(*, registration: WorkshopRegistration) -> WorkshopRegistration:
    """Turn an offered waitlist place into a seat (payment pending for a paid workshop).

    Locks the workshop, the registration and the entry. Idempotent for an accepted
    offer; refuses an offer that expired or was never made.
    """
    workshop = _workshop_lock(registration.workshop_id)
    locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
    if locked.status == RegistrationStatus.REGISTERED:
        return locked
    entry = WorkshopWaitlistEntry.objects.select_for_update().filter(registration=locked).first()
    if (
        entry is None
        or entry.status != WaitlistStatus.OFFERED
        or entry.offer_expires_at <= timezone.now()
        or not workshop.is_bookable
    ):
        raise ApplicationError("This seat offer is no longer available.")
    entry.status = WaitlistStatus.ACCEPTED
    entry.save(update_fields=["status"])
    locked.status = RegistrationStatus.REGISTERED
    locked.payment_status = PaymentStatus.NOT_REQUIRED if workshop.is_free else PaymentStatus.PENDING
    locked.amount, locked.currency = workshop.price, workshop.currency
    locked.save(update_fields=["status", "payment_status", "amount", "currency", "updated_at"])
    if workshop.is_free:
        _on_commit_notify("registered", locked.pk)
    return locked


def waitlist_offers_expire() -> int:
    """Expire seat offers past their deadline and pass each seat to the next member.

    One short transaction per workshop; safe to run concurrently and repeatedly.
    Returns the number of offers expired.
    """
    now = timezone.now()
    workshop_ids = set(
        WorkshopWaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED, offer_expires_at__lte=now).values_list(
            "workshop_id", flat=True
        )
    )
    expired = 0
    for workshop_id in sorted(workshop_ids, key=str):
        with transaction.atomic():
            workshop = _workshop_lock(workshop_id)
            entries = list(
                WorkshopWaitlistEntry.objects.select_for_update().filter(
                    workshop=workshop, status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
                )
            )
            for entry in entries:
                WorkshopRegistration.objects.filter(pk=entry.registration_id).update(
                    status=RegistrationStatus.CANCELLED, cancelled_at=now, updated_at=now
                )
                entry.status = WaitlistStatus.EXPIRED
                entry.save(update_fields=["status"])
            expired += len(entries)
            _offer_free_seats(workshop)
    return expired


def registrations_unpaid_release() -> int:
    """Cancel paid-workshop seats whose payment never arrived within the hold window.

    The freed seats go to the waitlist. Returns the number of seats released.
    """
    cutoff = timezone.now() - timedelta(minutes=settings.WORKSHOPS_PAYMENT_HOLD_MINUTES)
    stale = WorkshopRegistration.objects.filter(
        status=RegistrationStatus.REGISTERED, payment_status=PaymentStatus.PENDING, updated_at__lt=cutoff
    )
    released = 0
    for workshop_id in sorted(set(stale.values_list("workshop_id", flat=True)), key=str):
        with transaction.atomic():
            workshop = _workshop_lock(workshop_id)
            for registration in stale.select_for_update().filter(workshop=workshop):
                _cancel_locked(registration)
                released += 1
            _offer_free_seats(workshop)
    return released


# --- payments (billing reports outcomes here: workshops/apps.py registers the kind) ------


def registration_checkout_start(*, registration: WorkshopRegistration, success_url: str, cancel_url: str) -> str:
    """Start billing's checkout for a seat awaiting payment; returns where to send the member.

    When Stripe cannot start it, billing's CheckoutUnavailable (an ApplicationError whose
    message is for the member) propagates after the payment was canceled, which released
    the seat (`registration_payment_failed`) and offered it to the waitlist.
    """
    from billing.services import checkout_start

    if registration.payment_status != PaymentStatus.PENDING:
        raise ApplicationError("This registration does not need a payment.")
    start = checkout_start(
        kind=PURCHASE_KIND,
        object_id=str(registration.pk),
        member=registration.user,
        amount=registration.amount,
        currency=registration.currency,
        description=f"Workshop: {registration.workshop.title}",
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"workshop_id": str(registration.workshop_id)},
    )
    return start.redirect_url


def _registration_for_payment(payment) -> WorkshopRegistration | None:
    registration = WorkshopRegistration.objects.filter(pk=payment.object_id).first()
    if registration is None:
        logger.warning("payment %s names unknown workshop registration %s", payment.pk, payment.object_id)
        return None
    _workshop_lock(registration.workshop_id)
    return WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)


def registration_payment_paid(*, payment) -> None:
    """Billing's on_paid: confirm the seat. Idempotent.

    A payment that arrives after the seat was released is re-seated when a seat is
    free; otherwise the registration stays cancelled and paid, and the orphan check
    "paid but cancelled" lists it for a refund.
    """
    registration = _registration_for_payment(payment)
    if registration is None or registration.payment_status == PaymentStatus.PAID:
        return
    registration.payment = payment
    registration.payment_status = PaymentStatus.PAID
    fields = ["payment", "payment_status", "updated_at"]
    if registration.status == RegistrationStatus.CANCELLED:
        workshop = registration.workshop
        clash = WorkshopRegistration.objects.filter(member_active_q(registration.user), workshop=workshop).exists()
        if not clash and workshop.is_bookable and _seats_held(workshop) < workshop.capacity:
            registration.status, registration.cancelled_at = RegistrationStatus.REGISTERED, None
            fields += ["status", "cancelled_at"]
        else:
            logger.warning("payment %s arrived for released registration %s", payment.pk, registration.pk)
    registration.save(update_fields=fields)
    if registration.status == RegistrationStatus.REGISTERED:
        _on_commit_notify("registered", registration.pk)


def registration_payment_failed(*, payment) -> None:
    """Billing's on_failed: release a seat still waiting for this payment. Idempotent."""
    registration = _registration_for_payment(payment)
    if registration is None or registration.payment_status != PaymentStatus.PENDING:
        return
    _cancel_locked(registration, payment_status=PaymentStatus.FAILED)
    _offer_free_seats(registration.workshop)


def registration_payment_refunded(*, payment, refund_amount: Decimal, fully_refunded: bool) -> None:
    """Billing's on_refunded: a full refund cancels the seat and frees it. Idempotent."""
    if not fully_refunded:
        return
    registration = _registration_for_payment(payment)
    if registration is None or registration.payment_status == PaymentStatus.REFUNDED:
        return
    if registration.status == RegistrationStatus.CANCELLED:
        registration.payment_status = PaymentStatus.REFUNDED
        registration.save(update_fields=["payment_status", "updated_at"])
        return
    _cancel_locked(registration, payment_status=PaymentStatus.REFUNDED)
    _offer_free_seats(registration.workshop)


# --- attendance ------------------------------------------------------------------------


def minutes_between(joined_at: datetime | None, left_at: datetime | None) -> int | None:
    if joined_at is None or left_at is None:
        return None
    return max(math.ceil((left_at - joined_at).total_seconds() / 60), 0)


def _registration_mark_attended(registration: WorkshopRegistration | None) -> bool:
    """Mark a seat attended; returns True when the status changed."""
    if registration is None or registration.status not in (RegistrationStatus.REGISTERED, RegistrationStatus.NO_SHOW):
        return False
    WorkshopRegistration.objects.filter(pk=registration.pk).update(
        status=RegistrationStatus.ATTENDED, updated_at=timezone.now()
    )
    registration.status = RegistrationStatus.ATTENDED
    return True


def _series_progress_after_commit(workshop: Workshop, user_id) -> None:
    if workshop.series_id is None or user_id is None:
        return
    from bloom.tasks import enqueue

    from .tasks import series_progress_update_task

    enqueue(series_progress_update_task, str(user_id), str(workshop.series_id))


@transaction.atomic
def registration_mark_attended(*, registration: WorkshopRegistration) -> WorkshopRegistration:
    """Staff mark a member present: status attended plus a manual attendance row (once)."""
    workshop = _workshop_lock(registration.workshop_id)
    locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
    if _registration_mark_attended(locked):
        if not WorkshopAttendance.objects.filter(registration=locked).exists():
            WorkshopAttendance.objects.create(
                workshop=workshop,
                registration=locked,
                user=locked.user,
                participant_email=locked.user.email,
                joined_at=workshop.starts_at,
                left_at=workshop.ends_at,
                duration_minutes=minutes_between(workshop.starts_at, workshop.ends_at),
                source=AttendanceSource.MANUAL,
            )
        _series_progress_after_commit(workshop, locked.user_id)
    return locked


@transaction.atomic
def registration_mark_no_show(*, registration: WorkshopRegistration) -> WorkshopRegistration:
    """Staff mark a seated member absent. Only a registered seat becomes a no-show."""
    _workshop_lock(registration.workshop_id)
    locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
    if locked.status == RegistrationStatus.REGISTERED:
        locked.status = RegistrationStatus.NO_SHOW
        locked.save(update_fields=["status", "updated_at"])
    return locked


# --- series ------------------------------------------------------------------------------


@transaction.atomic
def series_progress_update(*, user_id, series_id) -> UserWorkshopSeriesProgress:
    """Recount the member's attended sessions of a series; stamp completion once.

    Idempotent and safe to run concurrently (locks the progress row; the unique
    user+series constraint guards its creation).
    """
    series = WorkshopSeries.all_objects.get(pk=series_id)
    progress, _ = UserWorkshopSeriesProgress.objects.get_or_create(user_id=user_id, series=series)
    progress = UserWorkshopSeriesProgress.objects.select_for_update().get(pk=progress.pk)
    attended = (
        WorkshopRegistration.objects.filter(
            user_id=user_id, workshop__series=series, status=RegistrationStatus.ATTENDED
        )
        .values("workshop")
        .distinct()
        .count()
    )
    required = series.required_sessions or (
        Workshop.objects.filter(series=series).exclude(status=WorkshopStatus.CANCELLED).count()
    )
    progress.sessions_attended = attended
    if progress.completed_at is None and required and attended >= required:
        progress.completed_at = timezone.now()
    progress.save(update_fields=["sessions_attended", "completed_at", "updated_at"])
    return progress


# --- feedback and catalog ------------------------------------------------------------------


@transaction.atomic
def feedback_submit(
    *, member: User, workshop: Workshop, rating: int, comments: str = "", would_recommend: bool | None = None
) -> WorkshopFeedback:
    """Store (or replace) the member's feedback; only members who attended may leave it."""
    if not WorkshopRegistration.objects.filter(
        user=member, workshop=workshop, status=RegistrationStatus.ATTENDED
    ).exists():
        raise ApplicationError("Feedback opens once you have attended this workshop.")
    if not 1 <= rating <= 5:
        raise ApplicationError("Choose a rating from 1 to 5.")
    feedback, _ = WorkshopFeedback.objects.update_or_create(
        user=member,
        workshop=workshop,
        defaults={"rating": rating, "comments": comments.strip(), "would_recommend": would_recommend},
    )
    return feedback


@transaction.atomic
def workshop_cancel(*, workshop: Workshop) -> int:
    """Cancel a workshop: its status becomes cancelled and every active registration is cancelled.

    Waitlist entries close with them. Returns the number of registrations cancelled.
    Paid seats are listed for refunds by the orphan check, not refunded here.
    """
    locked = _workshop_lock(workshop.pk)
    locked.status = WorkshopStatus.CANCELLED
    locked.save(update_fields=["status", "updated_at"])
    now = timezone.now()
    WorkshopWaitlistEntry.objects.filter(workshop=locked, status__in=ACTIVE_WAITLIST_STATUSES).update(
        status=WaitlistStatus.CANCELLED
    )
    return WorkshopRegistration.objects.filter(
        workshop=locked, status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]
    ).update(status=RegistrationStatus.CANCELLED, cancelled_at=now, updated_at=now)


# --- notices -----------------------------------------------------------------------------

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
    from notifications.services import notify, sequence_trigger

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
    notify(
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
