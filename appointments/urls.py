from django.urls import path

from bloom.webhooks import webhook_paths

from . import booking_views, calendar, views

app_name = "appointments"

urlpatterns = [
    path("appointments/", views.appointment_list, name="appointment_list"),
    path("appointments/therapists/", booking_views.therapist_list, name="therapist_list"),
    path("appointments/therapists/<uuid:therapist_id>/", booking_views.therapist_detail, name="therapist_detail"),
    path("appointments/therapists/<uuid:therapist_id>/book/", booking_views.book, name="book"),
    path("appointments/therapists/<uuid:therapist_id>/book/card/", booking_views.book_card, name="book_card"),
    path(
        "appointments/therapists/<uuid:therapist_id>/book/calendly/", booking_views.book_calendly, name="book_calendly"
    ),
    path("appointments/estimates/<uuid:estimate_id>.pdf", booking_views.gfe_pdf, name="gfe_pdf"),
    path("team/", views.team, name="team"),
    path("appointments/<uuid:appointment_id>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<uuid:appointment_id>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<uuid:appointment_id>/reschedule/", views.appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<uuid:appointment_id>/calendar.ics", calendar.appointment_calendar, name="appointment_calendar"),
    *webhook_paths("webhooks/calendly/", views.calendly_webhook, name="calendly_webhook"),
]

from . import document_views  # noqa: E402 - receipts and the superbill (docs/appointments.md)

urlpatterns += [
    path("appointments/documents/", document_views.documents_page, name="documents"),
    path("appointments/documents/superbill.pdf", document_views.superbill_pdf, name="superbill_pdf"),
    path("appointments/<uuid:appointment_id>/receipt.pdf", document_views.receipt_pdf, name="receipt_pdf"),
]
