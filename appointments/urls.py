from django.urls import path

from bloom.webhooks import webhook_paths

from . import calendar, views

app_name = "appointments"

urlpatterns = [
    path("appointments/", views.appointment_list, name="appointment_list"),
    path("appointments/therapists/", views.therapist_list, name="therapist_list"),
    path("team/", views.team, name="team"),
    path("appointments/<uuid:appointment_id>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<uuid:appointment_id>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<uuid:appointment_id>/reschedule/", views.appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<uuid:appointment_id>/calendar.ics", calendar.appointment_calendar, name="appointment_calendar"),
    *webhook_paths("webhooks/calendly/", views.calendly_webhook, name="calendly_webhook"),
]
