"""Demo workshops for `make run`, so a newcomer sees every state a workshop can be in. Idempotent.

- two upcoming workshops, one free and one paid, with seats open;
- a full workshop whose seats are held by demo guests, with Maya (member@bloom.test) and a
  guest on its waitlist;
- a series, "The first-year circle", of three sessions: one already held, which Maya attended,
  left feedback on and has materials (a handout and a link), and two upcoming.

Demo guests are real rows with no usable password (nobody logs in as them). Seats go through
`registration_create`, so capacity and the waitlist are exactly what the product would do.
"""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.demo import demo_member_ensure
from accounts.models import User

from .models import (
    RegistrationStatus,
    Workshop,
    WorkshopRegistration,
    WorkshopResource,
    WorkshopSeries,
    WorkshopStatus,
)
from .services.attendance import registration_mark_attended
from .services.feedback import feedback_submit
from .services.seats import registration_create
from .services.series import series_progress_update

DEMO_MEMBER_EMAIL = "member@bloom.test"

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

FULL_WORKSHOP = {
    "slug": "demo-talking-about-a-hard-birth",
    "title": "Talking about a hard birth",
    "description": "A small, gently held group for parents whose birth did not go as hoped. Places are few on purpose.",
    "days_ahead": 10,
    "capacity": 3,
    "price": "0.00",
}

# (email, first name, last name): who holds the full workshop's seats, then who waits after Maya.
DEMO_GUESTS = [
    ("guest.ana@bloom.test", "Ana", "Guest"),
    ("guest.bea@bloom.test", "Bea", "Guest"),
    ("guest.cleo@bloom.test", "Cleo", "Guest"),
    ("guest.dani@bloom.test", "Dani", "Guest"),
]

SERIES = {
    "slug": "demo-the-first-year-circle",
    "title": "The first-year circle",
    "description": "Three evenings with the same small group through the first year with a baby.",
}

SERIES_SESSIONS = [
    # slug, title, days from today (negative: already held)
    ("demo-first-year-circle-1-arriving", "First-year circle 1: Arriving as a parent", -6),
    ("demo-first-year-circle-2-you-and-your-partner", "First-year circle 2: You and your partner", 8),
    ("demo-first-year-circle-3-looking-after-you", "First-year circle 3: Looking after you", 22),
]

HANDOUT = """The first-year circle: arriving as a parent (Bloom Psychology)

Three things we talked about:
1. Feeling unlike yourself in the first weeks is common, and it usually eases.
2. Ask for one specific kind of help this week: a meal, a shower, a nap.
3. Notice one small moment each day that went well enough.

If you are in crisis or have thoughts of harming yourself or your baby,
call or text 988 (US) or your local emergency number.
"""


def _starts(days: int):
    return (timezone.now() + timedelta(days=days)).replace(hour=18, minute=0, second=0, microsecond=0)


def _workshop(spec: dict, *, facilitator, series=None) -> tuple[Workshop, bool]:
    starts = _starts(spec["days_ahead"])
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
            "series": series,
            "zoom_meeting_id": "",
        },
    )
    if not created and spec["days_ahead"] > 0 and workshop.starts_at <= timezone.now():
        # Keep the upcoming demo workshops upcoming across restarts.
        workshop.starts_at, workshop.ends_at = starts, starts + timedelta(minutes=75)
        workshop.save(update_fields=["starts_at", "ends_at", "updated_at"])
    return workshop, created


def seed(*, stdout) -> None:
    facilitator = User.objects.filter(is_staff=True).order_by("date_joined").first()
    for spec in DEMO_WORKSHOPS:
        workshop, _ = _workshop(spec, facilitator=facilitator)
        stdout.write(f"    workshop: {workshop.title}")
    member = User.objects.filter(email=DEMO_MEMBER_EMAIL).first()
    if member is None:
        stdout.write("    workshops: no demo member, so no full workshop, waitlist or series")
        return
    guests = [demo_member_ensure(email=email, first_name=first, last_name=last) for email, first, last in DEMO_GUESTS]
    _full_workshop_with_waitlist(facilitator=facilitator, member=member, guests=guests, stdout=stdout)
    _series_with_an_attended_session(facilitator=facilitator, member=member, guests=guests, stdout=stdout)


def _full_workshop_with_waitlist(*, facilitator, member: User, guests: list[User], stdout) -> None:
    workshop, _ = _workshop(FULL_WORKSHOP, facilitator=facilitator)
    seat_holders, waiting = guests[: workshop.capacity], [member, *guests[workshop.capacity :]]
    # registration_create returns an existing active registration unchanged, so a rerun adds nothing.
    for user in [*seat_holders, *waiting]:
        registration_create(member=user, workshop=workshop)
    stdout.write(f"    workshop: {workshop.title} (full, with a waitlist)")


def _series_with_an_attended_session(*, facilitator, member: User, guests: list[User], stdout) -> None:
    series, _ = WorkshopSeries.all_objects.get_or_create(
        slug=SERIES["slug"], defaults={"title": SERIES["title"], "description": SERIES["description"]}
    )
    sessions = []
    for slug, title, days in SERIES_SESSIONS:
        spec = {
            "slug": slug,
            "title": title,
            "description": SERIES["description"],
            "days_ahead": days,
            "capacity": 10,
            "price": "0.00",
        }
        sessions.append(_workshop(spec, facilitator=facilitator, series=series)[0])
    held = sessions[0]
    for user in (member, guests[0]):
        registration, _ = WorkshopRegistration.objects.get_or_create(
            user=user, workshop=held, defaults={"status": RegistrationStatus.REGISTERED, "amount": held.price}
        )
        registration_mark_attended(registration=registration)  # once: an attended seat stays as it is
        series_progress_update(user_id=user.pk, series_id=series.pk)  # now, not only in the worker
    feedback_submit(
        member=member,
        workshop=held,
        rating=5,
        comments="It helped to hear that other parents feel this too. Thank you for such a kind space.",
        would_recommend=True,
    )
    feedback_submit(member=guests[0], workshop=held, rating=4, comments="Warm and practical.", would_recommend=True)
    if not WorkshopResource.objects.filter(workshop=held, title="Handout: arriving as a parent").exists():
        resource = WorkshopResource(workshop=held, title="Handout: arriving as a parent", sort_order=1)
        resource.file.save("arriving-as-a-parent.txt", ContentFile(HANDOUT.encode()), save=True)
    WorkshopResource.objects.get_or_create(
        workshop=held,
        title="Postpartum Support International",
        defaults={
            "url": "https://www.postpartum.net/",
            "description": "Free support groups and a helpline for parents, partners included.",
            "sort_order": 2,
        },
    )
    stdout.write(f"    series: {series.title}, {len(sessions)} sessions; the first held, with feedback and materials")
