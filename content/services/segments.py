"""Subscriber segments: rule validation and the members of hand-picked segments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from bloom.exceptions import ApplicationError

from ..models import SegmentKind, SubscriberSegment, SubscriberSegmentMember

if TYPE_CHECKING:
    from accounts.models import User


RULE_KEYS = {"sources", "min_engagement_score", "confirmed_within_days"}


def segment_rule_validate(rule: dict) -> dict:
    """Return a cleaned segment rule or raise ValidationError naming the problem."""
    if not isinstance(rule, dict):
        raise ValidationError("The rule must be a JSON object.")
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ValidationError(f"Unknown rule keys: {', '.join(sorted(unknown))}. Use {', '.join(sorted(RULE_KEYS))}.")
    cleaned = {}
    if "sources" in rule:
        sources = rule["sources"]
        if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
            raise ValidationError('"sources" must be a list of source names.')
        cleaned["sources"] = sources
    for key, upper in (("min_engagement_score", 100), ("confirmed_within_days", 3650)):
        if key in rule:
            value = rule[key]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= upper:
                raise ValidationError(f'"{key}" must be a whole number from 0 to {upper}.')
            cleaned[key] = value
    return cleaned


@transaction.atomic
def segment_members_add(*, segment: SubscriberSegment, subscribers, added_by: User | None = None) -> int:
    """Add subscribers to a manual segment; those already in it are skipped. Returns how many joined."""
    if segment.kind != SegmentKind.MANUAL:
        raise ApplicationError(f"“{segment.name}” is a rule segment: its members follow its rule.")
    ids = [s.pk for s in subscribers]
    existing = set(segment.memberships.filter(subscriber_id__in=ids).values_list("subscriber_id", flat=True))
    new = [
        SubscriberSegmentMember(segment=segment, subscriber_id=pk, added_by=added_by)
        for pk in ids
        if pk not in existing
    ]
    SubscriberSegmentMember.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def segment_members_remove(*, segment: SubscriberSegment, subscribers) -> int:
    """Take subscribers out of a manual segment. Returns how many left."""
    return segment.memberships.filter(subscriber_id__in=[s.pk for s in subscribers]).delete()[0]
