"""Hooks higher apps register in their AppConfig.ready() (notifications never imports them).

- unsubscribe handlers: told when an address withdraws marketing consent (content marks its
  subscriber unsubscribed);
- marketing-consent lookups: answer for addresses that belong to no user (newsletter subscribers),
  each optionally with a set-based twin for many addresses at once (bulk campaign sends);
- sequence stop checks: named predicates a sequence can list in its stop conditions
  ("purchased" the promoted course ...);
- pause checks: whether an account is on a "life happened" pause now (accounts answers), so mail
  that may wait (newsletters, nudges) is not sent to her while it lasts (optionally with a
  set-based twin for many accounts at once);
- email template keys: the variables each system email may use, with sample data for the
  admin preview and the strict template validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

UnsubscribeHandler = Callable[..., None]
ConsentLookup = Callable[..., "bool | None"]
ConsentLookupMany = Callable[..., "dict[str, bool]"]
StopCheck = Callable[..., bool]
PauseCheck = Callable[..., bool]
PauseCheckMany = Callable[..., "set"]

_unsubscribe_handlers: list[UnsubscribeHandler] = []
_stop_checks: dict[str, StopCheck] = {}


class _TwinnedHooks:
    """Functions asked in the order they were registered, each with an optional set-based twin
    that answers for many addresses or accounts at once (keyed by the function it stands for)."""

    def __init__(self) -> None:
        self.functions: list[Callable] = []
        self.twins: dict[Callable, Callable] = {}

    def register(self, fn: Callable, many: Callable | None) -> None:
        if fn not in self.functions:
            self.functions.append(fn)
        if many is not None:
            self.twins[fn] = many

    def unregister(self, fn: Callable) -> None:
        self.functions.remove(fn)
        self.twins.pop(fn, None)


_consent_lookups = _TwinnedHooks()
_pause_checks = _TwinnedHooks()
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


def register_marketing_consent_lookup(fn: ConsentLookup, *, many: ConsentLookupMany | None = None) -> None:
    """fn(*, email: str) -> bool | None: True/False when the address is known, None otherwise.

    `many(*, emails: list[str]) -> dict[str, bool]` answers the same for many normalised
    addresses in a few queries (unknown addresses left out); without it a bulk send asks `fn`
    once per address.
    """
    _consent_lookups.register(fn, many)


def marketing_consent_lookups() -> list[ConsentLookup]:
    return list(_consent_lookups.functions)


def marketing_consent_lookup_many(fn: ConsentLookup) -> ConsentLookupMany | None:
    """The set-based twin registered with `fn`, or None."""
    return _consent_lookups.twins.get(fn)


def unregister_marketing_consent_lookup(fn: ConsentLookup) -> None:
    """Take back a lookup and its twin (a test's temporary one)."""
    _consent_lookups.unregister(fn)


def register_pause_check(fn: PauseCheck, *, many: PauseCheckMany | None = None) -> None:
    """fn(*, user) -> bool: True while that account is on a pause (no newsletters or nudges).

    `many(*, users: list) -> set` gives the primary keys of those of `users` on a pause, in a
    few queries; without it a bulk send asks `fn` once per account.
    """
    _pause_checks.register(fn, many)


def pause_checks() -> list[PauseCheck]:
    return list(_pause_checks.functions)


def pause_check_many(fn: PauseCheck) -> PauseCheckMany | None:
    """The set-based twin registered with `fn`, or None."""
    return _pause_checks.twins.get(fn)


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
