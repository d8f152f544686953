from django.urls import path

from bloom.webhooks import webhook_paths

from . import calendar, views

app_name = "workshops"

urlpatterns = [
    path("workshops/", views.workshop_list, name="workshop_list"),
    path("workshops/<slug:slug>/", views.workshop_detail, name="workshop_detail"),
    path("workshops/<slug:slug>/register/", views.workshop_register, name="workshop_register"),
    path("workshops/<slug:slug>/feedback/", views.feedback_submit, name="feedback_submit"),
    path(
        "workshops/registrations/<uuid:registration_id>/cancel/", views.registration_cancel, name="registration_cancel"
    ),
    path(
        "workshops/registrations/<uuid:registration_id>/calendar.ics",
        calendar.registration_calendar,
        name="registration_calendar",
    ),
    path("workshops/registrations/<uuid:registration_id>/accept/", views.waitlist_accept, name="waitlist_accept"),
    path("workshops/registrations/<uuid:registration_id>/pay/", views.registration_pay, name="registration_pay"),
    path("workshops/resources/<uuid:resource_id>/download/", views.resource_download, name="resource_download"),
    *webhook_paths("webhooks/zoom/", views.zoom_webhook, name="zoom_webhook"),
]
