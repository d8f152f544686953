"""Every view needs a signed-in user unless it is public on purpose (docs/adr/0015).

`LoginRequiredMiddleware` is installed, so a view nobody decorated is for members only. The walk
below visits every URL pattern: a view marked `@login_not_required` must be on the reviewed
list of public views, and every other view must turn an anonymous visitor to the login page.
"""

import re
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse

from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

# Reviewed: each of these answers anyone. Keyed by URL name, or by route for unnamed patterns.
PUBLIC = {
    # The public site.
    "home",
    "healthz",
    "favicon",
    "content:about",  # words only, reads nothing (docs/adr/0195)
    "appointments:team",  # therapists' public profiles, booking links (docs/adr/0195)
    "content:blog_list",
    "content:blog_detail",
    "content:newsletter_signup",
    "content:newsletter_thanks",
    "content:newsletter_confirm",
    "content:analytics_event",
    "content:contact",
    "content:contact_thanks",
    # Her calendar feed: a phone cannot sign in; the secret token in the URL is the key (ADR 0185).
    "accounts:calendar_feed",
    # A staff invitation: she has no account yet; the one-time token in the URL is the key.
    "accounts:staff_invitation_accept",
    # Messages with the care team: a visitor writes without an account and comes back through a
    # signed, expiring link; a member's own threads are fenced in the views (docs/adr/0180).
    "content:messages_home",
    "content:messages_visitor_thread",
    "content:messages_visitor_thread_updates",
    "content:career_list",
    "content:career_detail",
    "content:career_applied",
    "courses:course_list",
    "courses:course_detail",
    "courses:lesson_detail",  # preview lessons; the view fences the rest to enrolled members
    "courses:certificate_verify",
    "workshops:workshop_list",
    "workshops:workshop_detail",
    # Signing in, up and out, and the links allauth mails (allauth marks these itself).
    "account_login",
    "account_logout",
    "account_inactive",
    "account_signup",
    "account_email_verification_sent",
    "account_confirm_email",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_login_code",
    "mfa_authenticate",
    "admin:login",  # redirects to account_login
    # Links in mail: each carries a signed token.
    "notifications:track_open",
    "notifications:track_click",
    "notifications:unsubscribe",
    # Webhooks: providers prove themselves by signature, with and without the trailing slash.
    "billing:stripe_webhook",
    "webhooks/stripe",
    "workshops:zoom_webhook",
    "webhooks/zoom",
    "appointments:calendly_webhook",
    "webhooks/calendly",
}
# The ESP's delivery webhooks (anymail) check HTTP basic auth against ANYMAIL["WEBHOOK_SECRET"].
ANYMAIL_ROUTE_PREFIX = "notifications/esp/"

SAMPLE_VALUES = {"uuid": str(uuid.uuid4()), "int": "1", "slug": "a-slug", "str": "token", "path": "a/b"}


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            assert isinstance(pattern, URLPattern)
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern


def _views():
    return list(_walk(get_resolver().url_patterns))


def _is_public(callback) -> bool:
    return getattr(callback, "login_required", True) is False


def _concrete_path(route: str) -> str | None:
    """A URL for a route made only of path() segments, with sample values for its converters."""
    if "^" in route or "$" in route or "(?P" in route:
        return None
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES[m.group(1) or "str"], route)


def _login_redirects(url: str) -> set[str]:
    """Where an anonymous visitor to `url` may be sent: the sign-in page, or the admin's login
    for admin-site views (which redirects on to the sign-in page, see the admin test below)."""
    return {f"/accounts/login/?next={quote(url)}", f"/admin/login/?next={quote(url)}"}


def test_login_required_middleware_runs_after_authentication():
    middleware = settings.MIDDLEWARE
    required = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    assert required in middleware
    assert middleware.index(required) > middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert reverse(settings.LOGIN_URL) == "/accounts/login/"


def test_the_urlconf_walk_finds_every_app():
    routes = [route for route, _name, _pattern in _views()]
    assert len(routes) > 100  # the admin alone has hundreds: the walk went into every include()
    for prefix in ("admin/", "accounts/", "billing/", "courses/", "workshops/", "appointments/", "notifications/"):
        assert any(route.startswith(prefix) for route in routes), prefix


def test_every_public_view_is_on_the_reviewed_list_and_every_listed_view_is_public():
    marked, anymail = set(), []
    for route, name, pattern in _views():
        if not _is_public(pattern.callback):
            continue
        if route.startswith(ANYMAIL_ROUTE_PREFIX):
            anymail.append(pattern.callback.__module__)
            continue
        marked.add(name or route)
    assert marked - PUBLIC == set(), "public views nobody reviewed: add them to PUBLIC or protect them"
    assert PUBLIC - marked == set(), "views that should be public but need a login: mark them @login_not_required"
    assert anymail and all(module.startswith("anymail.webhooks.") for module in anymail)


def test_every_other_view_sends_an_anonymous_visitor_to_the_login_page(client):
    middleware = LoginRequiredMiddleware(lambda request: HttpResponse())
    refused_over_http = 0
    unprotected = []
    for route, name, pattern in _views():
        callback = pattern.callback
        if _is_public(callback):
            continue
        # The middleware's own decision, for every view however its pattern is written ...
        request = RequestFactory().get("/")
        request.user = AnonymousUser()
        decision = middleware.process_view(request, callback, (), {})
        if decision is None or decision.status_code != 302:
            unprotected.append(name or route)
            continue
        # ... and a real anonymous request through the whole stack wherever a URL can be built.
        url = _concrete_path(route)
        if url is None:
            continue
        response = client.get(url)
        if response.status_code != 302 or response["Location"] not in _login_redirects(url):
            unprotected.append(f"{name or route}: {response.status_code} {response.get('Location')}")
        refused_over_http += 1
    assert unprotected == []
    assert refused_over_http > 500


@pytest.mark.parametrize(
    "url_name",
    [
        "accounts:dashboard",
        "accounts:security",
        "billing:billing_home",
        "appointments:appointment_list",
        "notifications:notification_list",
        "account_email",
        "mfa_index",
    ],
)
def test_members_pages_redirect_an_anonymous_visitor_to_login_and_back(client, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(url)}"


@pytest.mark.parametrize("url", ["/admin/", "/admin/accounts/user/"])
def test_the_admin_sends_an_anonymous_visitor_to_the_allauth_login(client, url):
    response = client.get(url, follow=True)
    landed = urlsplit(response.redirect_chain[-1][0])
    assert (landed.path, parse_qs(landed.query)) == ("/accounts/login/", {"next": [url]})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url_name",
    [
        "home",
        "account_login",
        "account_signup",
        "account_reset_password",
        "content:blog_list",
        "content:newsletter_signup",
        "content:contact",
        "content:career_list",
        "courses:course_list",
        "workshops:workshop_list",
    ],
)
def test_public_pages_answer_anonymous_visitors(client, url_name):
    assert client.get(reverse(url_name)).status_code == 200


def test_health_check_answers_without_a_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code in (200, 503)
    assert response.json()["checks"]["database"]["status"] == "up"


@pytest.mark.parametrize(
    "url",
    [
        "/webhooks/stripe/",
        "/webhooks/stripe",
        "/webhooks/calendly/",
        "/webhooks/calendly",
        "/webhooks/zoom/",
        "/webhooks/zoom",
        "/notifications/esp/postmark/tracking/",
    ],
)
def test_an_unsigned_webhook_post_reaches_its_view_and_is_refused_there(client, url):
    response = client.post(url, data=b"{}", content_type="application/json")
    # Not a redirect to the login page: the view ran and turned the missing signature away.
    assert 400 <= response.status_code < 500, (response.status_code, response.get("Location"))


def forgotten(request):
    return HttpResponse("members only")


urlpatterns = [path("forgotten/", forgotten), path("accounts/", include("allauth.urls"))]


@pytest.mark.urls(__name__)
def test_a_view_that_forgets_its_decorator_is_for_members_only(client):
    anonymous = client.get("/forgotten/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")

    client.force_login(UserFactory())
    assert client.get("/forgotten/").content == b"members only"
