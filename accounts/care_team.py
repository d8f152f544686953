"""Who is in a clinician's care: the members whose shared health data she may read (issue 13).

A member shares her check-ins, screening answers or progress "with her clinician". In the back
office that means the staff members caring for her: her profile's `care_clinician`, and whoever
higher apps say (appointments: the therapist of any of her sessions). Owners and superusers are not
limited, because they answer for the practice. Other clinicians see her scores and risk alerts
(crisis routing needs them), but not what she shared.

    register_care_team_filter(fn)   # fn(*, staff_user, prefix: str) -> Q over users
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When

CareTeamFilter = Callable[..., Q]
_filters: list[CareTeamFilter] = []


def register_care_team_filter(fn: CareTeamFilter) -> None:
    if fn not in _filters:
        _filters.append(fn)


def _unlimited(staff_user) -> bool:
    from .models import AdminUser

    return bool(staff_user.is_superuser or AdminUser.objects.filter(user=staff_user, role__slug="owner").exists())


def members_in_care_q(*, staff_user, prefix: str = "") -> Q | None:
    """A filter for rows whose member (`<prefix>` the user) is in `staff_user`'s care, or None when
    she may see every member's shared data (owners, superusers)."""
    if _unlimited(staff_user):
        return None
    q = Q(**{f"{prefix}profile__care_clinician": staff_user})
    for fn in list(_filters):
        q |= fn(staff_user=staff_user, prefix=prefix)
    return q


def annotate_in_care(queryset: QuerySet, *, staff_user, prefix: str = "user__", also: Q | None = None) -> QuerySet:
    """The queryset with `in_care` (bool) per row: may `staff_user` read what this member shared?
    `also` adds rows she may read for another reason (the suggestion she made herself)."""
    q = members_in_care_q(staff_user=staff_user, prefix=prefix)
    if q is not None and also is not None:
        q |= also
    if q is None:
        return queryset.annotate(in_care=Value(True, output_field=BooleanField()))
    return queryset.annotate(in_care=Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField()))
