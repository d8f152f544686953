"""Seats and the waitlist: registering, cancelling, seat offers, releasing unpaid seats.

Lock order, everywhere: the workshop row first (`workshop_lock`), then its registrations
and waitlist entries. Every seat decision is made while holding the workshop lock, so two
members racing for the last seat are served one after the other and capacity is never
exceeded. How many seats are held is `selectors.workshop_seats_held` (docs/adr/0052).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from bloom.exceptions import ApplicationError

from ..models import (
    ACTIVE_WAITLIST_STATUSES,
    PaymentStatus,
    RegistrationStatus,
    WaitlistStatus,
    Workshop,
    WorkshopRegistration,
    WorkshopStatus,
    WorkshopWaitlistEntry,
)
from ..selectors import registration_active_q, workshop_seats_annotate, workshop_seats_held
from .notices import registration_notice_queue

logger = logging.getLogger(__name__)


def workshop_lock(workshop_id) -> Workshop:
    """Lock the workshop row (archived ones too: cancellations must still work)."""
    return Workshop.all_objects.select_for_update().get(pk=workshop_id)


def _seat_state(*, workshop: Workshop, member: User) -> tuple[int, object | None, int | None]:
    """(seats held, the member's active registration id or None, the last waitlist position),
    in one query. Run it after taking the workshop lock, never in the locking statement: a
    statement's subqueries see the rows committed before it started, so counted in the statement
    that waited for the lock they would miss the seat its previous holder just took."""
    active = WorkshopRegistration.objects.filter(registration_active_q(member=member), workshop=OuterRef("pk"))
    last = WorkshopWaitlistEntry.objects.filter(workshop=OuterRef("pk")).order_by().values("workshop")
    return (
        workshop_seats_annotate(Workshop.all_objects.filter(pk=workshop.pk))
        .annotate(
            existing_id=Subquery(active.order_by("pk").values("pk")[:1]),
            last_position=Subquery(last.annotate(last=Max("position")).values("last")),
        )
        .values_list("seats_held", "existing_id", "last_position")
        .get()
    )


@transaction.atomic
def registration_create(*, member: User, workshop: Workshop) -> WorkshopRegistration:
    """Give the member a seat, or a place on the waitlist when the workshop is full.

    Locks the workshop row, so concurrent sign-ups never oversell `capacity`.
    Idempotent: a member who already holds an active registration gets it back unchanged.
    A paid workshop's seat starts with payment_status "pending" (held for
    WORKSHOPS_PAYMENT_HOLD_MINUTES until billing reports the payment). Queues a
    confirmation or waitlist notice after commit. While the lock is held: one query for the
    seats, her registration and the waitlist's end, then the inserts.
    """
    locked = workshop_lock(workshop.pk)
    seats_held, existing_id, last_position = _seat_state(workshop=locked, member=member)
    if existing_id is not None:
        return WorkshopRegistration.objects.get(pk=existing_id)
    if not locked.is_bookable:
        raise ApplicationError("This workshop is not open for registration.")

    registration = WorkshopRegistration(user=member, workshop=locked, amount=locked.price, currency=locked.currency)
    if seats_held < locked.capacity:
        registration.status = RegistrationStatus.REGISTERED
        registration.payment_status = PaymentStatus.NOT_REQUIRED if locked.is_free else PaymentStatus.PENDING
        registration.save()
        if locked.is_free:
            registration_notice_queue(kind="registered", registration_id=registration.pk)
        return registration

    registration.status = RegistrationStatus.WAITLISTED
    registration.payment_status = PaymentStatus.NOT_REQUIRED
    registration.save()
    WorkshopWaitlistEntry.objects.create(
        workshop=locked, user=member, registration=registration, position=(last_position or 0) + 1
    )
    registration_notice_queue(kind="waitlisted", registration_id=registration.pk)
    return registration


def waitlist_seats_offer(*, workshop: Workshop) -> list[WorkshopWaitlistEntry]:
    """Offer every free seat to the next waiting members, in queue order (caller holds the lock)."""
    if workshop.status != WorkshopStatus.PUBLISHED or workshop.is_archived or workshop.starts_at <= timezone.now():
        return []
    free = workshop.capacity - workshop_seats_held(workshop=workshop)
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
        registration_notice_queue(kind="seat_offered", registration_id=entry.registration_id)
    return offered


def registration_cancel_locked(*, registration: WorkshopRegistration, payment_status: str | None = None) -> None:
    """Cancel a registration and close its waitlist entry (caller holds the workshop and registration locks)."""
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = timezone.now()
    fields = ["status", "cancelled_at", "updated_at"]
    if payment_status is not None:
        registration.payment_status = payment_status
        fields.append("payment_status")
    registration.save(update_fields=fields)
    waitlist_entries_close(registration=registration)


def waitlist_entries_close(**where) -> int:
    """Cancel the waiting or offered waitlist entries matching `where` (a workshop, a registration).

    The caller holds the workshop lock. Returns how many entries closed.
    """
    return WorkshopWaitlistEntry.objects.filter(status__in=ACTIVE_WAITLIST_STATUSES, **where).update(
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
        workshop = workshop_lock(registration.workshop_id)
        locked = WorkshopRegistration.objects.select_for_update().get(pk=registration.pk)
        if locked.status == RegistrationStatus.CANCELLED:
            return locked
        if locked.status in (RegistrationStatus.ATTENDED, RegistrationStatus.NO_SHOW):
            raise ApplicationError(
                "This workshop has already taken place; the registration can no longer be cancelled."
            )
        registration_cancel_locked(registration=locked)
        waitlist_seats_offer(workshop=workshop)
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
    workshop = workshop_lock(registration.workshop_id)
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
        registration_notice_queue(kind="registered", registration_id=locked.pk)
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
            workshop = workshop_lock(workshop_id)
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
            waitlist_seats_offer(workshop=workshop)
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
            workshop = workshop_lock(workshop_id)
            for registration in stale.select_for_update().filter(workshop=workshop):
                registration_cancel_locked(registration=registration)
                released += 1
            waitlist_seats_offer(workshop=workshop)
    return released
