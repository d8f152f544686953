"""Demo therapists, their weekly hours and one upcoming session for the demo member."""

from datetime import time, timedelta
from decimal import Decimal

from django.templatetags.static import static
from django.utils import timezone

from accounts.models import User

from . import demo_workspace
from .demo_booking import seed_booking
from .demo_money import seed_money
from .demo_reminders import seed_reminders
from .models import AppointmentData, AppointmentStatus, TherapistAvailability, TherapistProfile

DEMO_THERAPISTS = [
    {
        "calendly_user_uri": "https://api.calendly.com/users/DEMO-THERAPIST-1",
        "display_name": "Dr. Jana Rundle",
        "login_email": "clinician@bloom.test",
        "credentials": "PsyD, PMH-C",
        "specialties": ["postpartum depression", "anxiety", "birth trauma"],
        "bio": "Jana founded Bloom and has spent fifteen years supporting new and expecting parents.",
        "hourly_rate": Decimal("200.00"),
        "scheduling_url": "https://calendly.com/bloom-demo-jana",
        "photo": "img/team/jana-rundle.svg",
        "hours": [(0, time(9), time(13)), (2, time(13), time(18)), (4, time(9), time(12))],
    },
    {
        "calendly_user_uri": "https://api.calendly.com/users/DEMO-THERAPIST-2",
        "display_name": "Sam Okafor",
        "credentials": "LMFT",
        "specialties": ["pregnancy loss", "couples in transition", "NICU parents"],
        "bio": "Sam works with couples and individuals through pregnancy, loss and the first year.",
        "hourly_rate": Decimal("160.00"),
        "scheduling_url": "https://calendly.com/bloom-demo-sam",
        "photo": "img/team/sam-okafor.svg",
        "hours": [(1, time(10), time(16)), (3, time(12), time(19))],
    },
    {
        # Shows the team page's "not taking new clients" state.
        "calendly_user_uri": "https://api.calendly.com/users/DEMO-THERAPIST-3",
        "display_name": "Priya Raman",
        "credentials": "LCSW, PMH-C",
        "specialties": ["anxiety in pregnancy", "fertility journeys", "intrusive thoughts"],
        "bio": "Priya supports people through fertility treatment, pregnancy after loss and the worries of pregnancy.",
        "hourly_rate": Decimal("180.00"),
        "scheduling_url": "https://calendly.com/bloom-demo-priya",
        "is_accepting_clients": False,
        "photo": "img/team/priya-raman.svg",
        "hours": [(0, time(14), time(18))],
    },
]


def seed(*, stdout) -> None:
    therapists = []
    for spec in DEMO_THERAPISTS:
        fields = {k: v for k, v in spec.items() if k not in {"calendly_user_uri", "hours", "login_email", "photo"}}
        fields["photo_url"] = static(spec["photo"])  # an illustrated avatar drawn for the demo (ADR 0195)
        therapist, created = TherapistProfile.all_objects.get_or_create(
            calendly_user_uri=spec["calendly_user_uri"], defaults=fields
        )
        if not therapist.photo_url:
            therapist.photo_url = fields["photo_url"]
            therapist.save(update_fields=["photo_url", "updated_at"])
        therapists.append(therapist)
        login = spec.get("login_email")
        if login and therapist.user_id is None:
            therapist.user = User.objects.filter(email=login).first()
            therapist.save(update_fields=["user"])
        for weekday, start, end in spec["hours"]:
            TherapistAvailability.objects.get_or_create(
                therapist=therapist, weekday=weekday, start_time=start, defaults={"end_time": end}
            )
        stdout.write(f"appointments: therapist {therapist} {'created' if created else 'exists'}")
    member = User.objects.filter(email="member@bloom.test").first()
    if member is None:
        stdout.write("appointments: no demo member, no demo appointment")
        return
    starts_at = (timezone.now() + timedelta(days=3)).replace(hour=17, minute=0, second=0, microsecond=0)
    _, created = AppointmentData.objects.get_or_create(
        calendly_invitee_uri="https://api.calendly.com/scheduled_events/DEMO-EVENT-1/invitees/DEMO-INVITEE-1",
        defaults={
            "user": member,
            "therapist": therapists[0],
            "invitee_email": member.email,
            "invitee_name": member.get_full_name(),
            "calendly_event_uri": "https://api.calendly.com/scheduled_events/DEMO-EVENT-1",
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(minutes=50),
            "status": AppointmentStatus.SCHEDULED,
            "location": "zoom",
            "zoom_meeting_url": "https://zoom.us/j/0000000000",
        },
    )
    stdout.write(f"appointments: demo appointment {'created' if created else 'exists'}")

    from .demo_documents import seed_documents

    seed_documents(stdout=stdout)
    seed_booking(stdout=stdout)  # appointments/demo_booking.py
    seed_reminders(stdout=stdout)
    demo_workspace.seed_workspace(stdout=stdout)
    seed_money(stdout=stdout)  # appointments/demo_money.py
