"""The opaque tracking value on a therapist's Calendly link (`utm_content`).

Calendly hands `utm_*` parameters of the scheduling link back in the invitee's `tracking`
object, so the booking webhook can tie a booking to the member who clicked "Book" even when
she types another email into Calendly's form. The value is a random token (it says nothing
about her) followed by a short HMAC, so a forged or mistyped value is refused without a
database read. One token per member and therapist, made on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import BookingLink, TherapistProfile

TRACKING_PARAMETER = "utm_content"
_MAC_LENGTH = 10


def _mac(token: str) -> str:
    key = hashlib.sha256(b"bloom.booking-link:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:_MAC_LENGTH]


def booking_tracking_value(*, member, therapist: TherapistProfile) -> str:
    """The value to put in the member's booking link for `therapist` (made once, then reused)."""
    link = BookingLink.objects.filter(user=member, therapist=therapist).only("token").first()
    if link is None:
        try:
            with transaction.atomic():
                link = BookingLink.objects.create(user=member, therapist=therapist, token=secrets.token_hex(10))
        except IntegrityError:
            link = BookingLink.objects.get(user=member, therapist=therapist)
    return f"{link.token}{_mac(link.token)}"


def booking_link_for_tracking(value: object) -> BookingLink | None:
    """The booking link a tracking value names (with its member), or None when the value is
    missing, malformed, forged or unknown."""
    if not isinstance(value, str) or len(value) <= _MAC_LENGTH or len(value) > 64:
        return None
    token, mac = value[:-_MAC_LENGTH], value[-_MAC_LENGTH:]
    if not hmac.compare_digest(mac, _mac(token)):
        return None
    return BookingLink.objects.select_related("user").filter(token=token).first()
