"""Demo data for reminders and the member's appointment pages: Calendly's cancel and reschedule
links on the demo member's sessions, and a session tomorrow whose 48h reminder has gone out."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User

from .models import AppointmentData, AppointmentStatus, TherapistProfile
from .reminders import appointment_reminder_send

DEMO_INVITEE = "https://api.calendly.com/scheduled_events/DEMO-EVENT-REMINDER/invitees/DEMO-INVITEE-REMINDER"


def seed_reminders(*, stdout) -> None:
    member = User.objects.filter(email="member@bloom.test").first()
    therapist = TherapistProfile.objects.filter(
        calendly_user_uri="https://api.calendly.com/users/DEMO-THERAPIST-2"
    ).first()
    if member is None or therapist is None:
        stdout.write("appointments: no demo member or therapist, no demo reminder")
        return
    starts_at = (timezone.now() + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
    appointment, created = AppointmentData.objects.get_or_create(
        calendly_invitee_uri=DEMO_INVITEE,
        defaults={
            "user": member,
            "therapist": therapist,
            "invitee_email": member.email,
            "invitee_name": member.get_full_name(),
            "calendly_event_uri": DEMO_INVITEE.split("/invitees/")[0],
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(minutes=50),
            "status": AppointmentStatus.SCHEDULED,
            "location": "zoom",
            "zoom_meeting_url": "https://zoom.us/j/0000000001",
        },
    )
    for session in AppointmentData.objects.filter(user=member, calendly_cancel_url=""):
        key = session.calendly_invitee_uri.rsplit("/", 1)[-1] if session.calendly_invitee_uri else str(session.pk)
        session.calendly_cancel_url = f"https://calendly.com/cancellations/{key}"
        session.calendly_reschedule_url = f"https://calendly.com/reschedulings/{key}"
        session.save(update_fields=["calendly_cancel_url", "calendly_reschedule_url", "updated_at"])
    sent = (
        created
        and appointment.starts_at > timezone.now()
        and appointment_reminder_send(appointment=appointment, kind="48h")
    )
    stdout.write(
        f"appointments: demo reminder session {'created' if created else 'exists'}{', reminder sent' if sent else ''}"
    )
