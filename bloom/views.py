"""Bloom's own error pages: 400, 403 (and a failed CSRF check), 404 and 500.

Each says what happened in Bloom's words, offers a way back and shows the crisis line. None
shows a traceback or the exception's text: those reach the log, and a browser only when a
developer opts in with DJANGO_DEBUG=1 (docs/adr/0090).
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

from bloom.csp import allow_style_blocks

logger = logging.getLogger(__name__)


def _back_url(request: HttpRequest) -> str:
    """The page the member came from, when it is on this site (never a link off-site)."""
    referer = request.headers.get("referer", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={host}, require_https=request.is_secure()):
        return referer
    return ""


def _error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    return render(request, template, {"back_url": _back_url(request)}, status=status)


# The error handlers are reached without resolving a URL, so LoginRequiredMiddleware never
# sees them; the markers say they are public on purpose for the URLconf walk.
@login_not_required
@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "400.html", 400)


@login_not_required
@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", 403)


@login_not_required
@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", 404)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: most often a form left open past its session, or cookies blocked."""
    return _error_page(request, "403_csrf.html", 403)


# Shown if 500.html itself cannot be loaded: the last word must never fail.
_LAST_RESORT_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong · Bloom Psychology'
    "</title></head><body><h1>Something went wrong on our side</h1><p>Please try again in a few minutes."
    ' <a href="/">Go to the home page</a>.</p><p>If you are in crisis, call or text 988 (US) or your local'
    " emergency number.</p></body></html>"
)


def _reverse_or(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    """Renders 500.html with no request context: no context processor, no database, no session.

    Whatever broke the request (the database, a template, the URLconf) may still be broken.
    """
    try:
        context = {
            "home_url": _reverse_or("home", "/"),
            "dashboard_url": _reverse_or("accounts:dashboard", "/dashboard/"),
            "contact_url": _reverse_or("content:contact", ""),
        }
        body = loader.get_template("500.html").render(context)
    except Exception:
        logger.exception("the 500 page could not be rendered")
        body = _LAST_RESORT_500
    # Its one <style> block is allowed by hash: this page may use no static file (docs/adr/0140).
    return allow_style_blocks(HttpResponseServerError(body), body)


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.

    Resolved per request, not at import: production's manifest storage knows the hashed
    name only once collectstatic has run.
    """
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
