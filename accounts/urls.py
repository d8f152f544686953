from django.urls import path

from . import calendar_views, invitation_views, screening_views, views, wellness_views

app_name = "accounts"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("welcome/", views.onboarding, name="onboarding"),
    path("account/profile/", views.profile, name="profile"),
    path("account/security/", views.security, name="security"),
    path("account/calendar/on/", calendar_views.calendar_feed_turn_on, name="calendar_feed_turn_on"),
    path("account/calendar/rotate/", calendar_views.calendar_feed_rotate, name="calendar_feed_rotate"),
    path("account/calendar/off/", calendar_views.calendar_feed_turn_off, name="calendar_feed_turn_off"),
    path("calendar/feed/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path(
        "staff/invitation/<str:token>/",
        invitation_views.staff_invitation_accept_view,
        name="staff_invitation_accept",
    ),
    path("account/break/", views.pause, name="pause"),
    path("account/break/end/", views.pause_end, name="pause_end"),
    path("care/suggestions/<uuid:assignment_id>/done/", views.care_assignment_done, name="care_assignment_done"),
    path("care/sharing/", views.care_progress_share, name="care_progress_share"),
    path("account/data-requests/", views.data_request_create, name="data_request_create"),
    path(
        "account/data-requests/<uuid:request_id>/download/", views.data_request_download, name="data_request_download"
    ),
    path("wellness/", wellness_views.wellness, name="wellness"),
    path("wellness/summary.pdf", wellness_views.wellness_summary, name="wellness_summary"),
    path("wellness/sharing/", wellness_views.wellness_share, name="wellness_share"),
    path("screening/", screening_views.screening, name="screening"),
    path("screening/take/<slug:instrument>/", screening_views.screening_take, name="screening_take"),
    path("screening/results/<uuid:response_id>/", screening_views.screening_result, name="screening_result"),
    path("screening/results/<uuid:response_id>/sharing/", screening_views.screening_share, name="screening_share"),
    path("screening/points/<uuid:point_id>/skip/", screening_views.screening_skip, name="screening_skip"),
    path("screening/timeline/", screening_views.screening_timeline, name="screening_timeline"),
    path("screening/support/", screening_views.screening_support, name="screening_support"),
]
