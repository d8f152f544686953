"""Risk flags in a member's own words, and how her clinician is found.

Free text (wellness notes here; contact form and chat in `content`, which may call
`accounts.services.risk_text_review`) is checked against a short list of phrases the
practice's clinical lead reviewed. A match never diagnoses anything: it puts the text in
front of a person (a "needs attention" alert, docs/adr/0102) and shows the member the crisis
resources at once. The list errs towards flagging: "I would never hurt myself" is flagged
too, because a clinician reading it costs little and a missed one costs a great deal.

Changing the list: add the phrase in lower case to its category, with a test in
tests/accounts/test_risk_alerts.py, and have the clinical lead review it.

Her clinician: accounts cannot import appointments (ARCHITECTURE.md), so appointments
registers a lookup in its AppConfig.ready():

    register_clinician_lookup(clinician_for_member)   # (*, member) -> CareClinician | None

The profile's `care_clinician` is asked first, then the lookups in registration order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

RISK_PHRASES: dict[str, tuple[str, ...]] = {
    "self_harm": (
        "harm myself",
        "harming myself",
        "hurt myself",
        "hurting myself",
        "kill myself",
        "killing myself",
        "end my life",
        "ending my life",
        "take my own life",
        "suicide",
        "suicidal",
        "better off dead",
        "better off without me",
        "want to die",
        "wish i was dead",
        "wish i were dead",
        "don't want to be here anymore",
        "don't want to be here any more",
        "no reason to live",
        "cut myself",
        "cutting myself",
        "overdose",
    ),
    "harm_to_baby": (
        "harm my baby",
        "harming my baby",
        "hurt my baby",
        "hurting my baby",
        "harm the baby",
        "hurt the baby",
        "intrusive thoughts about my baby",
        "intrusive thoughts about the baby",
        "thoughts of hurting my baby",
        "thoughts of harming my baby",
        "shake my baby",
        "shake the baby",
    ),
    "psychosis": (
        "hearing voices",
        "voices telling me",
    ),
}

RISK_CATEGORY_LABELS = {
    "self_harm": "thoughts of self-harm",
    "harm_to_baby": "thoughts of harm to the baby",
    "psychosis": "possible psychotic symptoms",
}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _normalise(text: str) -> str:
    text = (text or "").translate(_APOSTROPHES).lower()
    text = re.sub(r"\b(dont|don t)\b", "don't", text)
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern], ...]:
    compiled = []
    for category, phrases in RISK_PHRASES.items():
        alternatives = "|".join(re.escape(phrase).replace(r"\ ", r"\s+") for phrase in phrases)
        compiled.append((category, re.compile(rf"(?<![a-z])(?:{alternatives})(?![a-z])")))
    return tuple(compiled)


def risk_categories_found(text: str) -> list[str]:
    """The categories of RISK_PHRASES the text matches, in the list's order; [] for none."""
    normalised = _normalise(text)
    if not normalised.strip():
        return []
    return [category for category, pattern in _patterns() if pattern.search(normalised)]


@dataclass(frozen=True)
class CareClinician:
    """Who looks after a member: shown to her on crisis pages, alerted when she needs attention."""

    name: str
    # The clinician's login, which receives alerts; None when the clinician has none (the
    # on-call role is alerted instead, but the member still sees the name).
    user: Any = None
    email: str = ""
    # Where the answer came from: "profile" or what the registering app says ("appointment").
    source: str = ""


ClinicianLookup = Callable[..., "CareClinician | None"]
_clinician_lookups: list[ClinicianLookup] = []


def register_clinician_lookup(fn: ClinicianLookup) -> None:
    """fn(*, member) -> CareClinician | None; asked in registration order until one answers."""
    if fn not in _clinician_lookups:
        _clinician_lookups.append(fn)


def clinician_lookups() -> list[ClinicianLookup]:
    return list(_clinician_lookups)
