"""Reads for workshops. Member reads take the member and filter by them (another's row is a 404)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Greatest
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
    WorkshopWaitlistEntry,
)


def _count_for_workshop(rows: QuerySet) -> Coalesce:
    counted = rows.filter(workshop=OuterRef("pk")).order_by().values("workshop").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def workshop_seats_annotate(workshops: QuerySet[Workshop]) -> QuerySet[Workshop]:
    """Annotate `seats_held` and `seats_left` (never below zero): the seats rule, written once.

    A seat is held by a registration in SEAT_STATUSES (registered, attended, no-show) and by
    a waitlist entry with an open offer. Correlated subqueries, so a list costs no extra query.
    Services decide seats with this too, while they hold the workshop's row lock.
    """
    held = _count_for_workshop(WorkshopRegistration.objects.filter(status__in=SEAT_STATUSES)) + _count_for_workshop(
        WorkshopWaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED)
    )
    return workshops.annotate(seats_held=held).annotate(seats_left=Greatest(F("capacity") - F("seats_held"), Value(0)))


def workshop_seats_held(*, workshop: Workshop) -> int:
    """Seats taken by registrations plus seats held for open waitlist offers (one query; archived workshops too)."""
    return (
        workshop_seats_annotate(Workshop.all_objects.filter(pk=workshop.pk)).values_list("seats_held", flat=True).get()
    )


def workshop_seats_left(*, workshop: Workshop) -> int:
    """Free seats right now (a snapshot for display; registration decides under the workshop lock)."""
    return (
        workshop_seats_annotate(Workshop.all_objects.filter(pk=workshop.pk)).values_list("seats_left", flat=True).get()
    )


def registration_active_q(*, member: User) -> Q:
    """The member's registrations that are not cancelled (at most one per workshop)."""
    return Q(user=member) & ~Q(status=RegistrationStatus.CANCELLED)


def workshop_list_upcoming() -> QuerySet[Workshop]:
    """Published, not archived workshops that have not started, with `seats_held` and `seats_left`, in one query."""
    return workshop_seats_annotate(
        Workshop.objects.filter(status=WorkshopStatus.PUBLISHED, starts_at__gt=timezone.now()).select_related("series")
    ).order_by("starts_at", "id")


def workshop_list_starting_within(*, within: timedelta) -> QuerySet[Workshop]:
    """`workshop_list_upcoming` narrowed to those starting within `within`, each also annotated
    with `waiting` (members waiting on its waitlist without an offer); still one query."""
    waiting = _count_for_workshop(WorkshopWaitlistEntry.objects.filter(status=WaitlistStatus.WAITING))
    return workshop_list_upcoming().filter(starts_at__lt=timezone.now() + within).annotate(waiting=waiting)


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


def registration_get_active_for_member(*, member: User, workshop: Workshop) -> WorkshopRegistration | None:
    return (
        WorkshopRegistration.objects.filter(registration_active_q(member=member), workshop=workshop)
        .select_related("waitlist_entry")
        .first()
    )


def registration_statuses_for_member(*, member: User, workshop_ids: list) -> dict:
    """workshop id -> the member's active registration status, in one query."""
    if not member.is_authenticated:
        return {}
    return dict(
        WorkshopRegistration.objects.filter(
            registration_active_q(member=member), workshop_id__in=workshop_ids
        ).values_list("workshop_id", "status")
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
    """The member's seats and waitlist places in workshops still to come (one query), with only
    the columns the dashboard's panel shows."""
    return list(
        WorkshopRegistration.objects.filter(
            user=member,
            status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
            workshop__starts_at__gt=timezone.now(),
        )
        .select_related("workshop", "waitlist_entry")
        .only(
            *("user", "status", "payment_status", "workshop__slug", "workshop__title", "workshop__starts_at"),
            "waitlist_entry__status",
        )
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

    from .services.notices import NOTICES

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
