from django.urls import path

from . import views

app_name = "courses"

urlpatterns = [
    path("courses/", views.course_list, name="course_list"),
    path("courses/progress/<uuid:enrollment_id>/", views.enrollment_detail, name="enrollment_detail"),
    path("courses/resources/<uuid:resource_id>/download/", views.resource_download, name="resource_download"),
    path("courses/certificates/<uuid:certificate_id>/", views.certificate_detail, name="certificate_detail"),
    path("courses/certificates/<uuid:certificate_id>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("certificates/verify/<str:code>/", views.certificate_verify, name="certificate_verify"),
    path("courses/<slug:slug>/", views.course_detail, name="course_detail"),
    path("courses/<slug:slug>/enroll/", views.course_enroll, name="course_enroll"),
    path("courses/<slug:slug>/lessons/<uuid:lesson_id>/", views.lesson_detail, name="lesson_detail"),
    path("courses/<slug:slug>/lessons/<uuid:lesson_id>/progress/", views.lesson_progress, name="lesson_progress"),
]
