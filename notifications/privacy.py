"""Notifications' part of the personal-data registry (bloom/privacy.py; docs/adr/0320)."""

from __future__ import annotations

from bloom.privacy import ERASED_ADDRESS, MENTIONS, Erase, PersonalDataEntry, privacy_not_personal, privacy_register


def register() -> None:
    privacy_register(
        # Sent rows stay for delivery counts (metrics point at them); what was in them goes, and
        # anything still waiting is cancelled.
        PersonalDataEntry(
            "notifications.EmailQueue",
            ("user", "to_email", MENTIONS),
            Erase.ANONYMISE,
            scrub={
                "to_email": ERASED_ADDRESS,
                "user": None,
                "subject": "",
                "text_body": "",
                "html_body": "",
                "mime_message": "",
                "headers": {},
                "context": {},
                "tracked_links": [],
                "status": lambda row: "cancelled" if row.status in ("pending", "failed") else row.status,
            },
            private=("mime_message",),
        ),
        PersonalDataEntry(
            "notifications.EmailCampaignMetric",
            ("recipient_email", "email__user"),
            Erase.ANONYMISE,
            scrub={"recipient_email": ERASED_ADDRESS, "click_data": []},
        ),
        PersonalDataEntry(
            "notifications.EmailSuppression",
            ("email",),
            Erase.KEEP_PSEUDONYMISED,
            reason=(
                "GDPR Art. 21(3) and PECR: the suppression list is how her objection to marketing keeps being "
                "honoured; it holds the address alone, so it is kept as it is."
            ),
            redact=False,
        ),
        PersonalDataEntry("notifications.EmailAutomationLog", ("enrollment__user",), Erase.DELETE, order=40),
        PersonalDataEntry("notifications.EmailSequenceEnrollment", ("user",), Erase.DELETE, order=45),
        PersonalDataEntry("notifications.UserNotification", ("user",), Erase.DELETE),
    )
    for model in ("notifications.EmailTemplate", "notifications.EmailSequence", "notifications.SequenceEmail"):
        privacy_not_personal(model, "Email wording written by staff.")
