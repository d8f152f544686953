"""Appointments' part of the personal-data registry (bloom/privacy.py; docs/adr/0320)."""

from __future__ import annotations

from bloom.privacy import MENTIONS, Erase, PersonalDataEntry, privacy_not_personal, privacy_register

HIPAA_RETENTION = (
    "Clinical record: HIPAA 45 CFR 164.316(b)(2) and state law keep it six years; "
    "kept on the anonymous account without her contact details."
)
PAYMENT = "A payment record: tax and accounting law keeps it six years; kept without her contact details."


def register() -> None:
    user = ("user",)
    privacy_register(
        PersonalDataEntry(
            "appointments.AppointmentData",
            user,
            Erase.KEEP_PSEUDONYMISED,
            reason=HIPAA_RETENTION,
            scrub={
                "invitee_email": "",
                "invitee_name": "",
                "cancel_reason": "",
                "location": None,
                "zoom_meeting_url": None,
                "calendly_cancel_url": "",
                "calendly_reschedule_url": "",
            },
        ),
        PersonalDataEntry(
            "appointments.SessionNote", ("appointment__user",), Erase.KEEP_PSEUDONYMISED, reason=HIPAA_RETENTION
        ),
        PersonalDataEntry(
            "appointments.SessionNoteVersion",
            ("note__appointment__user",),
            Erase.KEEP_PSEUDONYMISED,
            reason=HIPAA_RETENTION,
        ),
        PersonalDataEntry(
            "appointments.AppointmentReminderLog",
            ("appointment__user",),
            Erase.KEEP_PSEUDONYMISED,
            reason="Shows reminders were sent for a kept clinical appointment. " + HIPAA_RETENTION,
        ),
        PersonalDataEntry("appointments.AppointmentPayment", user, Erase.KEEP_PSEUDONYMISED, reason=PAYMENT),
        PersonalDataEntry(
            "appointments.GoodFaithEstimate",
            user,
            Erase.KEEP_PSEUDONYMISED,
            reason="No Surprises Act, 45 CFR 149.610(g): a good faith estimate is kept six years.",
        ),
        PersonalDataEntry(
            "appointments.BookingPolicyAcceptance",
            user,
            Erase.KEEP_PSEUDONYMISED,
            reason="The contract for kept appointments and fees: proof she accepted the cancellation policy.",
        ),
        PersonalDataEntry("appointments.BookingLink", user, Erase.DELETE),
        PersonalDataEntry("appointments.CalendlyWebhookEvent", (MENTIONS,), Erase.ANONYMISE),
    )
    for model in ("appointments.TherapistProfile", "appointments.TherapistAvailability"):
        privacy_not_personal(model, "A therapist's public profile and hours (staff), not a member's data.")
