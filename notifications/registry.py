"""Hooks higher apps register in their AppConfig.ready() (notifications never imports them).

- unsubscribe handlers: told when an address withdraws marketing consent (content marks its
  subscriber unsubscribed);
- marketing-consent lookups: answer for addresses that belong to no user (newsletter subscribers);
- sequence stop checks: named predicates a sequence can list in its stop conditions
  ("purchased" the promoted course ...);
- pause checks: whether an account is on a "life happened" pause now (accounts answers), so mail
  that may wait (newsletters, nudges) is not sent to her while it lasts;
- email template keys: the variables each system email may use, with sample data for the
  admin preview and the strict template validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

UnsubscribeHandler = Callable[..., None]
ConsentLookup = Callable[..., "bool | None"]
StopCheck = Callable[..., bool]
PauseCheck = Callable[..., bool]

_unsubscribe_handlers: list[UnsubscribeHandler] = []
_consent_lookups: list[ConsentLookup] = []
_stop_checks: dict[str, StopCheck] = {}
_pause_checks: list[PauseCheck] = []
_template_keys: dict[str, TemplateKey] = {}

# Variables every email template may use: email_enqueue adds them to the context.
GLOBAL_TEMPLATE_VARIABLES = {
    "site_url": "https://bloompsychology.example",
    "site_name": "Bloom Psychology",
    "recipient_email": "member@example.com",
    "unsubscribe_url": "https://bloompsychology.example/notifications/unsubscribe/sample/",
}


@dataclass(frozen=True)
class TemplateKey:
    key: str
    sample_context: dict = field(default_factory=dict)
    description: str = ""


def register_unsubscribe_handler(fn: UnsubscribeHandler) -> None:
    """fn(*, email: str, reason: str) -> None, called in the unsubscribing transaction."""
    if fn not in _unsubscribe_handlers:
        _unsubscribe_handlers.append(fn)


def unsubscribe_handlers() -> list[UnsubscribeHandler]:
    return list(_unsubscribe_handlers)


def register_marketing_consent_lookup(fn: ConsentLookup) -> None:
    """fn(*, email: str) -> bool | None: True/False when the address is known, None otherwise."""
    if fn not in _consent_lookups:
        _consent_lookups.append(fn)


def marketing_consent_lookups() -> list[ConsentLookup]:
    return list(_consent_lookups)


def register_pause_check(fn: PauseCheck) -> None:
    """fn(*, user) -> bool: True while that account is on a pause (no newsletters or nudges)."""
    if fn not in _pause_checks:
        _pause_checks.append(fn)


def pause_checks() -> list[PauseCheck]:
    return list(_pause_checks)


def register_sequence_stop_check(name: str, fn: StopCheck) -> None:
    """fn(*, email: str, user, sequence, context: dict) -> bool; True ends the recipient's sequence.

    A sequence uses the check when `name` is in its `stop_conditions`.
    """
    _stop_checks[name] = fn


def sequence_stop_checks() -> dict[str, StopCheck]:
    return dict(_stop_checks)


def register_email_template(key: str, *, sample_context: dict, description: str = "") -> None:
    """Declare a template key, the variables it may use (the sample's keys) and sample data."""
    _template_keys[key] = TemplateKey(key=key, sample_context=dict(sample_context), description=description)


def email_template_key(key: str) -> TemplateKey | None:
    return _template_keys.get(key)


def email_template_keys() -> dict[str, TemplateKey]:
    return dict(_template_keys)
