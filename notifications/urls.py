from django.urls import include, path

from bloom.webhooks import webhook_urlconf

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/<uuid:notification_id>/read/", views.notification_mark_read, name="notification_mark_read"),
    path("notifications/read-all/", views.notification_mark_all_read, name="notification_mark_all_read"),
    path("notifications/t/o/<str:token>/", views.track_open, name="track_open"),
    path("notifications/t/c/<str:token>/", views.track_click, name="track_click"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # The delivery provider's bounce/complaint webhooks (basic auth: ANYMAIL["WEBHOOK_SECRET"]).
    path("notifications/esp/", include((webhook_urlconf("anymail.urls"), "anymail"))),
]
