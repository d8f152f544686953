"""Workshops' part of the personal-data registry (bloom/privacy.py; docs/adr/0320)."""

from __future__ import annotations

from bloom.privacy import MENTIONS, Erase, PersonalDataEntry, privacy_not_personal, privacy_register


def register() -> None:
    user = ("user",)
    participant = {"participant_email": "", "participant_name": ""}
    privacy_register(
        # Seats and attendance stay counted (on the anonymous account); her details go.
        PersonalDataEntry("workshops.WorkshopRegistration", user, Erase.ANONYMISE),
        PersonalDataEntry("workshops.WorkshopWaitlistEntry", user, Erase.DELETE),
        PersonalDataEntry("workshops.WorkshopAttendance", user, Erase.ANONYMISE, scrub=participant),
        PersonalDataEntry(
            "workshops.WorkshopConnectionEvent", ("participant_email",), Erase.ANONYMISE, scrub=participant
        ),
        PersonalDataEntry("workshops.WorkshopFeedback", user, Erase.ANONYMISE, scrub={"comments": ""}),
        PersonalDataEntry("workshops.UserWorkshopSeriesProgress", user, Erase.DELETE),
        PersonalDataEntry("workshops.ZoomWebhookEvent", (MENTIONS,), Erase.ANONYMISE),
    )
    for model in ("workshops.Workshop", "workshops.WorkshopResource", "workshops.WorkshopSeries"):
        privacy_not_personal(model, "Workshop material set by staff; the user link is the facilitator.")
