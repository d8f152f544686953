"""Handlers for allauth and django.contrib.auth signals (third-party events only)."""

from allauth.account.signals import email_changed, email_confirmed, password_changed, password_reset, password_set
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authentication_failed, authenticator_added, authenticator_removed, authenticator_used
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from .models import SecurityEvent
from .services import (
    admin_password_changed,
    admin_session_end,
    admin_session_start,
    admin_two_factor_sync,
    member_email_changed,
    member_email_verified,
    security_event_record,
    sign_in_failure_record,
)


@receiver(email_confirmed)
def mirror_email_confirmed(sender, request, email_address, **kwargs):
    member_email_verified(user=email_address.user, email=email_address.email)


@receiver(email_changed)
def mirror_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    member_email_changed(user=user, email=to_email_address.email, request=request)


@receiver(user_logged_in)
def open_admin_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        admin_session_start(user=user, request=request)


@receiver(user_logged_out)
def close_admin_session(sender, request, user, **kwargs):
    if user is not None and user.is_staff and request is not None:
        admin_session_end(user=user, request=request)


@receiver(password_changed)
@receiver(password_set)
@receiver(password_reset)
def stamp_password_change(sender, request, user, **kwargs):
    admin_password_changed(user=user)
    security_event_record(
        event_type="password_changed", severity=SecurityEvent.Severity.INFO, request=request, user=user
    )


@receiver(authenticator_added)
@receiver(authenticator_removed)
def sync_two_factor(sender, request, user, authenticator, **kwargs):
    admin_two_factor_sync(user=user)
    security_event_record(
        event_type="mfa_changed",
        severity=SecurityEvent.Severity.INFO,
        request=request,
        user=user,
        details={
            "type": authenticator.type,
            "signal": "added" if kwargs.get("signal") is authenticator_added else "removed",
        },
    )


@receiver(authentication_failed)
def record_mfa_code_failed(sender, request, user, authenticator, **kwargs):
    sign_in_failure_record(
        event_type="mfa_failed",
        request=request,
        login=user.email,
        user=user,
        details={"type": authenticator.type, "reauthentication": bool(kwargs.get("reauthentication"))},
    )


@receiver(authenticator_used)
def record_recovery_code_used(sender, request, user, authenticator, **kwargs):
    """A recovery code stands in for a lost authenticator: staff should know it happened."""
    if authenticator.type != Authenticator.Type.RECOVERY_CODES:
        return
    # allauth marks the code used on a fresh copy of the row, so read it again.
    codes = Authenticator.objects.get(pk=authenticator.pk).wrap().get_unused_codes()
    security_event_record(
        event_type="recovery_code_used", request=request, user=user, details={"codes_left": len(codes)}
    )
