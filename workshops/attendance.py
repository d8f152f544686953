"""Moved to workshops/services/attendance.py; these names stay importable from here for zoom.py and admin.py."""

from .services.attendance import (  # TEMP-ALIAS(h3)
    ENDED,
    attendance_connection_record,
    attendance_meeting_end_record,
    connection_intervals,
)

__all__ = ["ENDED", "attendance_connection_record", "attendance_meeting_end_record", "connection_intervals"]
