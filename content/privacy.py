"""Content's part of the personal-data registry (bloom/privacy.py; docs/adr/0320)."""

from __future__ import annotations

from bloom.privacy import Erase, PersonalDataEntry, privacy_not_personal, privacy_register

STAFF_CONTENT = "Written and edited by staff; the user links are the staff author or reviewer."


def _chat_export(*, member, rows):
    from . import chat_privacy

    return chat_privacy.chat_member_export(member=member)


def register() -> None:
    privacy_register(
        PersonalDataEntry("content.Subscriber", ("email",), Erase.DELETE),
        PersonalDataEntry("content.SubscriberSegmentMember", ("subscriber__email",), Erase.DELETE),
        PersonalDataEntry(
            "content.AnalyticsEvent",
            ("user",),
            Erase.ANONYMISE,
            scrub={"user": None, "session_id": ""},
        ),
        PersonalDataEntry("content.ContactSubmission", ("email",), Erase.DELETE),
        PersonalDataEntry("content.CareerApplication", ("email",), Erase.DELETE, files=("cv",), order=40),
        # Messages are health data: they go with the conversation (chat_privacy, docs/adr/0180).
        PersonalDataEntry("content.ChatMessage", ("conversation__user", "conversation__visitor_email"), Erase.DELETE),
        PersonalDataEntry(
            "content.ChatConversation", ("user", "visitor_email"), Erase.DELETE, export=_chat_export, order=60
        ),
    )
    for model in (
        "content.BlogPost",
        "content.BlogPostVersion",
        "content.ContentApproval",
        "content.JobPosting",
        "content.NewsletterCampaign",
        "content.SubscriberSegment",
    ):
        privacy_not_personal(model, STAFF_CONTENT)
