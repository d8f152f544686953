"""The default welcome sequence (idempotent)."""

from datetime import timedelta

from .models import EmailCategory, EmailSequence, SequenceEmail, SequenceTrigger, StopCondition

WELCOME_STEPS = [
    (1, timedelta(0), "notifications/welcome_1"),
    (2, timedelta(days=2), "notifications/welcome_2"),
    (3, timedelta(days=7), "notifications/welcome_3"),
]


def welcome_sequence_ensure() -> EmailSequence:
    sequence, _ = EmailSequence.all_objects.get_or_create(
        name="Welcome",
        defaults={
            "trigger": SequenceTrigger.MEMBER_SIGNED_UP,
            "category": EmailCategory.MARKETING,
            "stop_conditions": [
                StopCondition.UNSUBSCRIBED,
                StopCondition.SUPPRESSED,
                StopCondition.ACCOUNT_DELETED,
                StopCondition.PURCHASED,
            ],
            "description": "Three gentle emails for new members over their first week.",
        },
    )
    for position, delay, key in WELCOME_STEPS:
        SequenceEmail.objects.get_or_create(
            sequence=sequence, position=position, defaults={"delay": delay, "template_key": key}
        )
    return sequence


def seed(*, stdout) -> None:
    welcome_sequence_ensure()
