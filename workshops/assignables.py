"""Workshops a clinician can suggest to a client (registered with accounts)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from accounts.assignables import Assignable, AssignedItem

from .models import RegistrationStatus, Workshop, WorkshopRegistration, WorkshopStatus


def workshop_choices() -> list[tuple[object, str]]:
    upcoming = Workshop.objects.filter(status=WorkshopStatus.PUBLISHED, starts_at__gt=timezone.now()).order_by(
        "starts_at"
    )
    return [
        (w.pk, f"{w.title}, {timezone.localtime(w.starts_at):%-d %b %Y}") for w in upcoming.only("title", "starts_at")
    ]


def workshop_describe(*, member, ids) -> dict:
    """Two queries: the workshops, and her registrations for them."""
    workshops = {w.pk: w for w in Workshop.all_objects.filter(pk__in=ids)}
    statuses = dict(
        WorkshopRegistration.objects.filter(user=member, workshop_id__in=list(workshops))
        .exclude(status=RegistrationStatus.CANCELLED)
        .values_list("workshop_id", "status")
    )
    words = {
        RegistrationStatus.REGISTERED: "Registered",
        RegistrationStatus.WAITLISTED: "On the waitlist",
        RegistrationStatus.ATTENDED: "Attended",
        RegistrationStatus.NO_SHOW: "Registered",
    }
    items = {}
    for pk, workshop in workshops.items():
        status = statuses.get(pk)
        items[pk] = AssignedItem(
            title=f"{workshop.title}, {timezone.localtime(workshop.starts_at):%-d %b}",
            url=reverse("workshops:workshop_detail", args=[workshop.slug]),
            progress=words.get(status, "Not registered yet"),
            finished=status == RegistrationStatus.ATTENDED,
        )
    return items


WORKSHOP = Assignable(kind="workshop", choices=workshop_choices, describe=workshop_describe)
