import time
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
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
            zone = zoneinfo.ZoneInfo(tz_name or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None  # the default time zone (UTC)
        # override() puts the previous zone back after the response, so a member's zone never
        # leaks into whatever runs next on this thread (the next request, a test, a task).
        with timezone.override(zone):
            return self.get_response(request)


class StaffMFARequiredMiddleware:
    """Staff must have an authenticator before they may use the admin (docs/adr/0010).

    A signed-in member who follows a link to the admin is sent to their dashboard
    instead of the login page (which would send a signed-in person straight back).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/") and request.user.is_authenticated:
            user = request.user
            if not user.is_staff and request.path.startswith("/admin/login/"):
                messages.info(request, "The back office is for Bloom staff.")
                return redirect("accounts:dashboard")
            if settings.BLOOM_STAFF_MFA_REQUIRED and user.is_staff and not _has_mfa(user):
                messages.warning(request, "Set up an authenticator app before you use the back office.")
                return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return self.get_response(request)


class StaffIdleLogoutMiddleware:
    """Automatic logoff (HIPAA 164.312(a)(2)(iii)): a staff session ends after
    BLOOM_STAFF_IDLE_MINUTES without a request, on the admin and the portal alike.

    The last request's time is kept in the session, written at most once a minute so a
    busy page does not save the session on every request. Members are not affected.
    """

    SESSION_KEY = "bloom_staff_seen_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        minutes = settings.BLOOM_STAFF_IDLE_MINUTES
        user = getattr(request, "user", None)
        if not minutes or user is None or not (user.is_authenticated and user.is_staff):
            return self.get_response(request)
        now = int(time.time())
        seen = request.session.get(self.SESSION_KEY)
        if seen is not None and now - seen > minutes * 60:
            from .services import security_event_record

            security_event_record(
                event_type="staff_idle_logout", request=request, user=user, details={"idle_minutes": minutes}
            )
            logout(request)
            messages.info(
                request,
                f"You were signed out after {minutes} minutes without activity, to keep members' records "
                "safe. Sign in again to carry on.",
            )
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if seen is None or now - seen >= 60:
            request.session[self.SESSION_KEY] = now
        return self.get_response(request)


def _has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class AdminAuditMiddleware:
    """Keep staff sessions' last_seen_at fresh and mirror admin changes into admin_activity_log.

    Django's admin writes a LogEntry for every add, change and delete (bulk deletions with
    bulk_create, which sends no signal), so after each state-changing admin request the
    entries written during it are copied, with the request's IP address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/") or not getattr(request, "user", None):
            return self.get_response(request)
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return self.get_response(request)
        from .services import admin_activity_mirror, admin_session_touch

        started = timezone.now()
        response = self.get_response(request)
        admin_session_touch(request=request)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            admin_activity_mirror(user=user, since=started, request=request)
        return response
