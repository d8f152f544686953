from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import home
from bloom.admin_reports import report_urls
from bloom.health import healthz
from bloom.views import favicon

# The admin signs in through allauth, so its rate limits and MFA apply.
admin.site.login = login_not_required(RedirectView.as_view(pattern_name="account_login", query_string=True))
# The site's headers, home cards and sections are bloom.admin_site.BloomAdminSite's.

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", favicon, name="favicon"),
    # The report pages (bloom/admin_reports.py), staff-only like the rest of /admin/.
    path("admin/reports/", include(report_urls())),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("", include("billing.urls")),
    path("", include("content.urls")),
    path("", include("courses.urls")),
    path("", include("workshops.urls")),
    path("", include("appointments.urls")),
]

# Uploaded files are never served from MEDIA_ROOT as a folder, in any settings: each kind is
# served by a view that checks who may have it (course and workshop resources, CVs in the
# admin), because the folder holds paid material and applicants' CVs (docs/adr/0090).

handler400 = "bloom.views.bad_request"
handler403 = "bloom.views.permission_denied"
handler404 = "bloom.views.page_not_found"
handler500 = "bloom.views.server_error"
