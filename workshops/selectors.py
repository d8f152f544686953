"""Reads for workshops. Member reads take the member and filter by them (another's row is a 404)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from accounts.models import User

from .models import (
    SEAT_STATUSES,
    PaymentStatus,
    RegistrationStatus,
    WaitlistStatus,
    Workshop,
    WorkshopFeedback,
    WorkshopRegistration,
    WorkshopResource,
    WorkshopStatus,
)


def workshop_list_upcoming() -> QuerySet[Workshop]:
    """Published, not archived workshops that have not started, with seats held counted in one query."""
    return (
        Workshop.objects.filter(status=WorkshopStatus.PUBLISHED, starts_at__gt=timezone.now())
        .select_related("series")
        .annotate(
            seats_taken=Count("registrations", filter=Q(registrations__status__in=SEAT_STATUSES), distinct=True)
            + Count("waitlist_entries", filter=Q(waitlist_entries__status=WaitlistStatus.OFFERED), distinct=True),
        )
        .order_by("starts_at")
    )


def workshop_get_published(*, slug: str) -> Workshop:
    """A workshop members may see (published or cancelled, not archived); drafts are a 404."""
    workshop = (
        Workshop.objects.filter(slug=slug)
        .exclude(status=WorkshopStatus.DRAFT)
        .select_related("series", "facilitator")
        .first()
    )
    if workshop is None:
        raise Http404("No such workshop")
    return workshop


def registration_get_for_member(*, member: User, registration_id) -> WorkshopRegistration:
    registration = (
        WorkshopRegistration.objects.select_related("workshop").filter(pk=registration_id, user=member).first()
    )
    if registration is None:
        raise Http404("No such registration")
    return registration


def registration_active_for_member(*, member: User, workshop: Workshop) -> WorkshopRegistration | None:
    return (
        WorkshopRegistration.objects.filter(user=member, workshop=workshop)
        .exclude(status=RegistrationStatus.CANCELLED)
        .select_related("waitlist_entry")
        .first()
    )


def registration_statuses_for_member(*, member: User, workshop_ids: list) -> dict:
    """workshop id -> the member's active registration status, in one query."""
    if not member.is_authenticated:
        return {}
    return dict(
        WorkshopRegistration.objects.filter(user=member, workshop_id__in=workshop_ids)
        .exclude(status=RegistrationStatus.CANCELLED)
        .values_list("workshop_id", "status")
    )


def resource_list_for_member(*, member: User, workshop: Workshop) -> list[WorkshopResource]:
    """Resources of a workshop the member holds a seat in, once each one's `visible_after` has passed."""
    if not WorkshopRegistration.objects.filter(user=member, workshop=workshop, status__in=SEAT_STATUSES).exists():
        return []
    now = timezone.now()
    return list(
        WorkshopResource.objects.filter(workshop=workshop).filter(
            Q(visible_after__isnull=True) | Q(visible_after__lte=now)
        )
    )


def resource_get_for_member(*, member: User, resource_id) -> WorkshopResource:
    """A workshop file the member may download, else 404 (staff: any).

    The same rule as `resource_list_for_member`: the member holds a seat and the
    resource's `visible_after` has passed. A link-only resource has nothing to download.
    """
    resource = WorkshopResource.objects.filter(pk=resource_id).select_related("workshop").first()
    if resource is None or not resource.file or not member.is_authenticated:
        raise Http404("No such resource.")
    if member.is_staff:
        return resource
    seated = WorkshopRegistration.objects.filter(
        user=member, workshop_id=resource.workshop_id, status__in=SEAT_STATUSES
    ).exists()
    if not seated or (resource.visible_after is not None and resource.visible_after > timezone.now()):
        raise Http404("No such resource.")
    return resource


def feedback_get_for_member(*, member: User, workshop: Workshop) -> WorkshopFeedback | None:
    return WorkshopFeedback.objects.filter(user=member, workshop=workshop).first()


def registration_list_upcoming_for_member(*, member: User, limit: int = 5) -> list[WorkshopRegistration]:
    """The member's seats and waitlist places in workshops still to come (one query)."""
    return list(
        WorkshopRegistration.objects.filter(
            user=member,
            status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
            workshop__starts_at__gt=timezone.now(),
        )
        .select_related("workshop", "waitlist_entry")
        .order_by("workshop__starts_at")[:limit]
    )


def registration_notices_missing(*, older_than: timedelta, within: timedelta) -> list[tuple[str, str]]:
    """(kind, registration id) of registration notices that never went out.

    A notice is sent by a task queued after commit; when Redis was down then, the message
    was lost. Only what `registration_notice_send` would still send, for workshops not yet
    started: a confirmed seat (free or paid), a waitlist place still waiting, a seat offer
    still open; that changed between `within` and `older_than` ago (younger ones may still
    have their task on the way) and have no portal notice of that kind.
    """
    from notifications.models import UserNotification

    from .services import NOTICES

    now = timezone.now()
    window = {"updated_at__gte": now - within, "updated_at__lte": now - older_than}
    kinds = {
        "registered": Q(
            status=RegistrationStatus.REGISTERED,
            payment_status__in=[PaymentStatus.NOT_REQUIRED, PaymentStatus.PAID],
            **window,
        ),
        "waitlisted": Q(status=RegistrationStatus.WAITLISTED, waitlist_entry__status=WaitlistStatus.WAITING, **window),
        "seat_offered": Q(
            status=RegistrationStatus.WAITLISTED,
            waitlist_entry__status=WaitlistStatus.OFFERED,
            waitlist_entry__offered_at__gte=now - within,
            waitlist_entry__offered_at__lte=now - older_than,
            waitlist_entry__offer_expires_at__gt=now,
        ),
    }
    missing = []
    for kind, condition in kinds.items():
        sent = (
            UserNotification.objects.filter(user=OuterRef("user_id"), type=NOTICES[kind][0])
            .annotate(registration_id=KT("data__registration_id"))
            .filter(registration_id=Cast(OuterRef("pk"), TextField()))
        )
        ids = (
            WorkshopRegistration.objects.filter(condition, workshop__starts_at__gt=now)
            .filter(~Exists(sent))
            .values_list("pk", flat=True)
        )
        missing += [(kind, str(pk)) for pk in ids]
    return missing
