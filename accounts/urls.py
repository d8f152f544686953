from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("welcome/", views.onboarding, name="onboarding"),
    path("account/profile/", views.profile, name="profile"),
    path("account/security/", views.security, name="security"),
    path("account/data-requests/", views.data_request_create, name="data_request_create"),
    path(
        "account/data-requests/<uuid:request_id>/download/", views.data_request_download, name="data_request_download"
    ),
    path("wellness/", views.wellness, name="wellness"),
]
