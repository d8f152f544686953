"""Writes for workshops, one module per sub-domain; import the package: `from workshops import services`.

seats       registering, cancelling, the waitlist and its seat offers, releasing unpaid seats
payments    billing's checkout for a seat and the outcomes billing reports
attendance  attendance from Zoom (the union of connections) and staff marking present or absent
series      a member's progress through a series
feedback    feedback from members who attended
catalog     staff cancelling a workshop
notices     registration notices, sent once each

Lock order, everywhere: the workshop row first (`seats.workshop_lock`), then its
registrations and waitlist entries. How many seats are held is one rule,
`selectors.workshop_seats_annotate`, which services read while they hold the lock.
"""

from .attendance import (
    AttendanceFigures,
    Interval,
    attendance_connection_record,
    attendance_figures,
    attendance_meeting_end_record,
    attendance_recompute,
    connection_intervals,
    intervals_union,
    minutes_between,
    participant_key_for,
    registration_mark_attended,
    registration_mark_no_show,
    union_seconds,
)
from .catalog import workshop_cancel, workshop_publish
from .feedback import feedback_submit
from .notices import NOTICES, registration_notice_queue, registration_notice_send
from .payments import (
    PURCHASE_KIND,
    registration_checkout_start,
    registration_payment_failed,
    registration_payment_refunded,
    registration_payment_succeeded,
)
from .seats import (
    registration_cancel,
    registration_cancel_locked,
    registration_create,
    registrations_unpaid_release,
    waitlist_offer_accept,
    waitlist_offers_expire,
    waitlist_seats_offer,
    workshop_lock,
)
from .series import series_progress_update

__all__ = [
    "AttendanceFigures",
    "Interval",
    "NOTICES",
    "PURCHASE_KIND",
    "attendance_connection_record",
    "attendance_figures",
    "attendance_meeting_end_record",
    "attendance_recompute",
    "connection_intervals",
    "feedback_submit",
    "intervals_union",
    "minutes_between",
    "participant_key_for",
    "registration_cancel",
    "registration_cancel_locked",
    "registration_checkout_start",
    "registration_create",
    "registration_mark_attended",
    "registration_mark_no_show",
    "registration_notice_queue",
    "registration_notice_send",
    "registration_payment_failed",
    "registration_payment_refunded",
    "registration_payment_succeeded",
    "registrations_unpaid_release",
    "series_progress_update",
    "union_seconds",
    "waitlist_offer_accept",
    "waitlist_offers_expire",
    "waitlist_seats_offer",
    "workshop_cancel",
    "workshop_publish",
    "workshop_lock",
]
