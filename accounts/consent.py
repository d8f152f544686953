"""What a member is asked to agree to: the versioned texts and the purpose of each consent.

The texts live in templates (docs/adr/0340): changing the wording of the terms, the privacy
notice or the telehealth consent means changing its template AND its `version` here, in the
same commit. A new terms or privacy version asks every signed-in member again
(accounts.middleware.PolicyAgreementMiddleware); a new telehealth version asks again before
her next video session.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .models import ConsentKind


@dataclass(frozen=True)
class PolicyText:
    kind: str
    title: str
    version: str
    effective: datetime.date
    template: str
    purpose: str


POLICIES: dict[str, PolicyText] = {
    ConsentKind.TERMS: PolicyText(
        kind=ConsentKind.TERMS,
        title="Terms of use",
        version="2026-12-02",
        effective=datetime.date(2026, 12, 2),
        template="legal/terms.html",
        purpose="Agreed to Bloom's terms of use, which set out how the service works.",
    ),
    ConsentKind.PRIVACY: PolicyText(
        kind=ConsentKind.PRIVACY,
        title="Privacy notice",
        version="2026-12-02",
        effective=datetime.date(2026, 12, 2),
        template="legal/privacy.html",
        purpose="Read the privacy notice: what Bloom collects, why, who sees it and her rights.",
    ),
    ConsentKind.TELEHEALTH: PolicyText(
        kind=ConsentKind.TELEHEALTH,
        title="Consent to sessions by video",
        version="2026-12-02",
        effective=datetime.date(2026, 12, 2),
        template="legal/_telehealth_text.html",
        purpose="Agreed to have therapy sessions by video (Zoom), with its benefits and limits.",
    ),
}

# The texts a member must have agreed to (at their current version) to use her account.
SIGNED_IN_POLICIES = (ConsentKind.TERMS, ConsentKind.PRIVACY)

MARKETING_PURPOSE = "Bloom's newsletter and occasional news about courses and workshops, by email."
NEWSLETTER_REQUEST_SOURCE = "newsletter_request"  # she asked; the consent is her confirmation click


def policy_get(kind: str) -> PolicyText:
    return POLICIES[kind]
