"""Admin for the booking gate's evidence: accepted policies, Good Faith Estimates, booking links.

All three are written only by the member's own actions (booking.py, gfe.py, tracking.py) and
are evidence of what she agreed to or was told, so staff can look and never change them.
"""

from django.contrib import admin

from bloom.admin import ReadOnlyAdmin

from .models import BookingLink, BookingPolicyAcceptance, GoodFaithEstimate


@admin.register(BookingPolicyAcceptance)
class BookingPolicyAcceptanceAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "therapist",
        "policy_version",
        "window_hours",
        "no_show_fee",
        "late_cancel_fee",
        "accepted_at",
    ]
    list_filter = ["policy_version"]
    search_fields = ["user__email", "therapist__display_name"]
    list_select_related = ["user", "therapist"]
    raw_id_fields = ["user", "therapist", "consent"]
    date_hierarchy = "accepted_at"


@admin.register(GoodFaithEstimate)
class GoodFaithEstimateAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "therapist",
        "session_fee",
        "session_count",
        "total",
        "service_code",
        "valid_until",
        "created_at",
    ]
    search_fields = ["user__email", "therapist__display_name"]
    list_select_related = ["user", "therapist"]
    raw_id_fields = ["user", "therapist"]
    date_hierarchy = "created_at"


@admin.register(BookingLink)
class BookingLinkAdmin(ReadOnlyAdmin):
    list_display = ["user", "therapist", "created_at"]
    search_fields = ["user__email", "therapist__display_name"]
    list_select_related = ["user", "therapist"]
    exclude = ["token"]  # the tracking token is a credential of sorts: never shown
