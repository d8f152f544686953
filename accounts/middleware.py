import zoneinfo

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone


class MemberTimezoneMiddleware:
    """Show times in the member's own time zone (stored in UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = getattr(user, "profile", None)
            tz_name = getattr(profile, "timezone", None)
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class StaffMFARequiredMiddleware:
    """Staff must have an authenticator before they may use the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.BLOOM_STAFF_MFA_REQUIRED and request.path.startswith("/admin/"):
            user = request.user
            if user.is_authenticated and user.is_staff and not _has_mfa(user):
                return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return self.get_response(request)


def _has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
