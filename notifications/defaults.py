"""Defaults a fresh install needs before anyone has opened the admin: the welcome sequence.

`install_default_sequences` runs after every `migrate` (and after the test runner's flush),
through the post_migrate signal, with the historical models of that moment. It creates the
welcome sequence only when no sequence for "member signed up" exists at all, archived or
paused ones included, and none is named "Welcome", so staff who pause, archive or rewrite it
keep their choice. Deleting
it outright brings the default back at the next migrate; pause or archive it instead.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from .models import EmailCategory, SequenceTrigger, StopCondition

WELCOME_NAME = "Welcome"
WELCOME_STEPS = [
    (1, timedelta(0), "notifications/welcome_1"),
    (2, timedelta(days=2), "notifications/welcome_2"),
    (3, timedelta(days=7), "notifications/welcome_3"),
]
WELCOME_FIELDS = {
    "trigger": SequenceTrigger.MEMBER_SIGNED_UP.value,
    "category": EmailCategory.MARKETING.value,
    "stop_conditions": [
        StopCondition.UNSUBSCRIBED.value,
        StopCondition.SUPPRESSED.value,
        StopCondition.ACCOUNT_DELETED.value,
        StopCondition.PURCHASED.value,
    ],
    "description": "Three gentle emails for new members over their first week.",
}


def welcome_sequence_ensure(*, sequences=None, steps=None, using: str = "default"):
    """Create the welcome sequence and its steps if missing (idempotent); return the sequence.

    `sequences`/`steps` are the EmailSequence/SequenceEmail models to use: the live ones by
    default, historical ones from a post_migrate `apps`.
    """
    if sequences is None or steps is None:
        from .models import EmailSequence, SequenceEmail

        sequences, steps = EmailSequence, SequenceEmail
    sequence, _ = sequences._base_manager.using(using).get_or_create(name=WELCOME_NAME, defaults=WELCOME_FIELDS)
    for position, delay, key in WELCOME_STEPS:
        steps._base_manager.using(using).get_or_create(
            sequence=sequence, position=position, defaults={"delay": delay, "template_key": key}
        )
    return sequence


def install_default_sequences(*, apps=None, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: a fresh install gets the welcome sequence.

    `migrate` passes the historical `apps`; `flush` (and so the test runner) passes none.
    """
    if apps is None:
        from django.apps import apps
    try:
        sequences = apps.get_model("notifications", "EmailSequence")
        steps = apps.get_model("notifications", "SequenceEmail")
    except LookupError:  # notifications is being migrated backwards (migrate notifications zero)
        return
    existing = sequences._base_manager.using(using).filter(
        Q(trigger=SequenceTrigger.MEMBER_SIGNED_UP.value) | Q(name=WELCOME_NAME)
    )
    if existing.exists():  # staff's own welcome, or a sequence they built under that name
        return
    welcome_sequence_ensure(sequences=sequences, steps=steps, using=using)
