"""Bloom's URLconf and error handlers plus views that fail on purpose, for tests/bloom/test_error_pages.py."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.urls import path

from bloom.urls import handler400, handler403, handler404, handler500
from bloom.urls import urlpatterns as bloom_urlpatterns

SECRET_DETAIL = "db password is hunter2 in /srv/bloom/settings.py"


@login_not_required
def forbidden(request):
    raise PermissionDenied(SECRET_DETAIL)


@login_not_required
def bad_request(request):
    raise BadRequest(SECRET_DETAIL)


@login_not_required
def boom(request):
    raise RuntimeError(SECRET_DETAIL)


urlpatterns = [
    path("test-errors/forbidden/", forbidden),
    path("test-errors/bad-request/", bad_request),
    path("test-errors/boom/", boom),
    *bloom_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
