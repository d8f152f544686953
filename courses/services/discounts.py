"""Discount codes (checked when quoted, a use taken when the payment succeeds) and affiliate ids.

The code row serialises its uses (`select_for_update`); docs/adr/0042, 0044.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from bloom.exceptions import ApplicationError

from ..models import (
    Course,
    CourseDiscountCode,
    normalise_code,
)

_AFFILIATE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class DiscountCodeError(ApplicationError):
    """A discount code cannot be used; the message says why, in words a member understands."""


def _date(value: datetime) -> str:
    return timezone.localtime(value).strftime("%B %-d, %Y")


def discount_code_check(*, code: str, course: Course, now: datetime | None = None) -> CourseDiscountCode:
    """The code if it may be used for `course` now; else DiscountCodeError with the reason.

    Does not take a use: uses are counted only when a payment succeeds (`discount_code_redeem`).
    """
    now = now or timezone.now()
    entered = (code or "").strip()
    found = CourseDiscountCode.objects.filter(code=normalise_code(entered)).first()
    if found is None or not found.discount_type:
        raise DiscountCodeError(f'We don\'t recognise the code "{entered}". Check the spelling and try again.')
    if not found.is_active:
        raise DiscountCodeError(f'The code "{found.code}" is no longer active, so it cannot be used.')
    if found.course_id is not None and found.course_id != course.pk:
        raise DiscountCodeError(f'The code "{found.code}" is for a different course, so it cannot be used here.')
    if found.valid_from is not None and found.valid_from > now:
        raise DiscountCodeError(f'The code "{found.code}" is not valid yet: it starts on {_date(found.valid_from)}.')
    if found.valid_until is not None and found.valid_until <= now:
        raise DiscountCodeError(f'The code "{found.code}" expired on {_date(found.valid_until)}.')
    if found.max_uses is not None and (found.uses_count or 0) >= found.max_uses:
        raise DiscountCodeError(f'The code "{found.code}" has been used up.')
    return found


def discount_code_redeem(*, code: str) -> CourseDiscountCode:
    """Take one use of a code. Locks the code row (select_for_update) and adds one with F().

    Of two payments racing for the last use, the second waits for the first's lock, then
    sees the code used up and gets DiscountCodeError; `uses_count` never passes `max_uses`
    (a check constraint guards that too). Dates are not re-checked: the member was quoted
    the discounted price while the code was valid.
    """
    with transaction.atomic():
        locked = CourseDiscountCode.objects.select_for_update().filter(code=normalise_code(code)).first()
        if locked is None:
            raise DiscountCodeError(f'We don\'t recognise the code "{code}".')
        if locked.max_uses is not None and (locked.uses_count or 0) >= locked.max_uses:
            raise DiscountCodeError(f'The code "{locked.code}" has just been used up.')
        CourseDiscountCode.objects.filter(pk=locked.pk).update(uses_count=Coalesce(F("uses_count"), 0) + 1)
        locked.refresh_from_db(fields=["uses_count"])
        return locked


def discount_code_save(*, code: CourseDiscountCode) -> CourseDiscountCode:
    """Save a code staff wrote, after every rule: the model's own checks (a fixed amount no more
    than the price, a percentage no more than 100) and its constraints, each as a ValidationError
    naming the field. Nothing is saved when one fails."""
    code.code = normalise_code(code.code)
    code.full_clean()
    code.save()
    return code


def affiliate_clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if _AFFILIATE_RE.match(value) else None
