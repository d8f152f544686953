"""Two upcoming demo workshops (one free, one paid) for `make run`."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User

from .models import Workshop, WorkshopStatus

DEMO_WORKSHOPS = [
    {
        "slug": "demo-sleep-and-the-newborn-weeks",
        "title": "Sleep and the newborn weeks",
        "description": "A gentle, practical hour on rest, night feeds and asking for help.",
        "days_ahead": 7,
        "capacity": 12,
        "price": "0.00",
    },
    {
        "slug": "demo-returning-to-work-after-baby",
        "title": "Returning to work after baby",
        "description": "Planning the transition back to work, boundaries, and handling the worry.",
        "days_ahead": 14,
        "capacity": 8,
        "price": "25.00",
    },
]


def seed(*, stdout) -> None:
    facilitator = User.objects.filter(is_staff=True).order_by("date_joined").first()
    for spec in DEMO_WORKSHOPS:
        starts = (timezone.now() + timedelta(days=spec["days_ahead"])).replace(
            hour=18, minute=0, second=0, microsecond=0
        )
        workshop, created = Workshop.all_objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "title": spec["title"],
                "description": spec["description"],
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=75),
                "capacity": spec["capacity"],
                "price": spec["price"],
                "status": WorkshopStatus.PUBLISHED,
                "facilitator": facilitator,
                "zoom_meeting_id": "",
            },
        )
        if not created and workshop.starts_at <= timezone.now():
            # Keep the demo upcoming across restarts.
            workshop.starts_at, workshop.ends_at = starts, starts + timedelta(minutes=75)
            workshop.save(update_fields=["starts_at", "ends_at", "updated_at"])
        stdout.write(f"    workshop: {workshop.title}")
