"""workshops' cards on the admin home (bloom/admin_home.py): the week's workshops, Zoom's webhook events."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from bloom.admin_home import Card, Line, changelist_url, webhook_card

from . import webhooks
from .selectors import workshop_list_starting_within

SOON = timedelta(days=7)
SHOWN = 10  # workshops listed on the card; the first line links to all of them


def _workshop_lines(request):
    now = timezone.now()
    workshops = list(workshop_list_starting_within(within=SOON)[: SHOWN + 1])
    if not workshops:
        return []
    more = len(workshops) > SHOWN
    zone = timezone.get_current_timezone()
    # A line opens the workshop's registrations; a reader who may not see them (a manager, an
    # editor) gets the workshop itself instead of a page that refuses her.
    sees_registrations = request.user.has_perm("workshops.view_workshopregistration")
    lines = [
        Line(
            label=f"{'More than ' + str(SHOWN) if more else len(workshops)} starting in the next 7 days",
            url=changelist_url(
                "workshops",
                "workshop",
                status__exact="published",
                starts_at__gte=now.isoformat(),
                starts_at__lt=(now + SOON).isoformat(),
            ),
        )
    ]
    for workshop in workshops[:SHOWN]:
        starts = date_format(timezone.localtime(workshop.starts_at, zone), "D j M, H:i")
        lines.append(
            Line(
                label=f"{workshop.title}, {starts}: {workshop.seats_left} of {workshop.capacity} seats left, "
                f"{workshop.waiting} on the waitlist",
                url=(
                    changelist_url("workshops", "workshopregistration", workshop__id__exact=workshop.pk)
                    if sees_registrations
                    else reverse("admin:workshops_workshop_change", args=[workshop.pk])
                ),
            )
        )
    return lines


CARDS = [
    Card("workshops-soon", "Workshops this week", "workshops.view_workshop", _workshop_lines, order=60),
    webhook_card(webhooks.PROVIDER, order=72),
]
