from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from bloom.http import client_ip
from bloom.links import absolute_url
from notifications.services import EmailCategory, EmailPriority, email_enqueue

from .models import User
from .services import member_signup_complete, sign_in_failure_record


def bloom_site() -> SimpleNamespace:
    """What allauth's mail templates call the site (django.contrib.sites is not installed)."""
    return SimpleNamespace(name="Bloom Psychology", domain=urlsplit(settings.SITE_URL).netloc)


# The links allauth puts in its mail. allauth builds them on the request's host; Bloom's
# mail links open the configured site (bloom.links), like every other mail it sends.
MAIL_LINK_KEYS = ("activate_url", "password_reset_url", "signup_url")


def _on_this_site(url: str) -> str:
    parts = urlsplit(url)
    return absolute_url(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))


def _account_for(login: str) -> User | None:
    return User.objects.filter(email__iexact=login.strip()).first() if login else None


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request):
        """allauth's rate limits and sessions key on the same address as the rest of Bloom."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's IP address.")
        return ip

    def get_login_redirect_url(self, request):
        """Staff start where they work, the admin home; members at their dashboard (a `next` link
        still wins: allauth asks this only when there is none)."""
        if request.user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    def pre_authenticate(self, request, **credentials):
        """A sign-in the lockout refuses (ACCOUNT_RATE_LIMITS["login_failed"]) is a Security event."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if exc.code == "too_many_login_attempts":
                login = credentials.get("email", "")
                sign_in_failure_record(
                    event_type="login_locked_out", request=request, login=login, user=_account_for(login)
                )
            raise

    def authentication_failed(self, request, **credentials):
        """A wrong password (or an unknown address) is a Security event; the password is not kept."""
        login = credentials.get("email", "")
        sign_in_failure_record(event_type="login_failed", request=request, login=login, user=_account_for(login))

    def save_user(self, request, user, form, commit=True):
        # The user, profile, preferences and consent record are written in one transaction.
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                data = getattr(form, "cleaned_data", {})
                member_signup_complete(
                    user=user,
                    referral_source=data.get("referral_source") or None,
                    marketing_consent=bool(data.get("marketing_consent")),
                    request=request,
                )
        return user

    def send_mail(self, template_prefix, email, context):
        """All allauth mail (verification, reset ...) goes through the outbox at high priority."""
        links = {key: _on_this_site(context[key]) for key in MAIL_LINK_KEYS if context.get(key)}
        ctx = {"request": allauth_context.request, "email": email, "current_site": bloom_site(), **context, **links}
        message = self.render_mail(template_prefix, email, ctx)
        html = next((body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"), "")
        user = context.get("user")
        email_enqueue(
            to=email,
            subject=message.subject,
            text_body=message.body,
            html_body=html,
            user=user if getattr(user, "pk", None) else None,
            category=EmailCategory.TRANSACTIONAL,
            priority=EmailPriority.HIGH,
        )
