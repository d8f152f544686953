"""The private calendar feed (no sign-in, a secret URL) and its settings on the security page.

The token is part of the feed's path, so these views keep it out of logs: a refused feed answers
without Django's "Not Found: <path>" line, and nothing here logs the path (docs/calendar.md).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from bloom.downloads import file_response
from bloom.http import client_ip
from bloom.links import absolute_reverse

from . import calendar

# A client that guesses more than this many wrong tokens in the window is refused for the window.
FEED_MISSES_ALLOWED = 20
FEED_MISS_WINDOW = 600
SESSION_NEW_URL = "calendar_feed_new_url"


def _unlogged(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response._has_been_logged = True  # Django's request logger would print the path, token and all
    return response


def _miss_key(request: HttpRequest) -> str:
    return f"calendar-feed-misses:{client_ip(request) or 'unknown'}"


@login_not_required  # the secret URL is the key (a phone's calendar cannot sign in)
@never_cache
@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Her feed as text/calendar: upcoming and recent items, cancelled ones left out."""
    key = _miss_key(request)
    if (cache.get(key) or 0) >= FEED_MISSES_ALLOWED:
        return _unlogged(429, "Too many tries. Please wait a few minutes.")
    member = calendar.calendar_feed_member(token=token)
    if member is None:
        if cache.add(key, 1, FEED_MISS_WINDOW) is False:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, FEED_MISS_WINDOW)
        return _unlogged(404, "This calendar link is not active.")
    events = [event for event in calendar.calendar_event_list(member=member) if not event.cancelled]
    body = calendar.calendar_ics(member=member, events=events, name="Bloom")
    response = file_response(body, content_type="text/calendar; charset=utf-8", filename="bloom.ics", inline=True)
    response["X-Robots-Tag"] = "noindex"
    return response


def calendar_section(request: HttpRequest) -> dict:
    """Context for the security page's calendar section; a just-made URL is shown once."""
    new_url = request.session.pop(SESSION_NEW_URL, None)
    return {
        "feed": calendar.calendar_feed_get(member=request.user),
        "new_url": new_url,
        "new_webcal": "webcal://" + new_url.split("://", 1)[-1] if new_url else None,
    }


def _remember_new_url(request: HttpRequest, token: str) -> None:
    request.session[SESSION_NEW_URL] = absolute_reverse("accounts:calendar_feed", token=token)


@login_required
@require_POST
def calendar_feed_turn_on(request: HttpRequest) -> HttpResponse:
    if calendar.calendar_feed_get(member=request.user) is None:
        _remember_new_url(request, calendar.calendar_feed_rotate(member=request.user))
        messages.success(request, "Your calendar link is ready. Copy it now: for your privacy we show it only once.")
    return redirect("accounts:security")


def _confirmed_change(request: HttpRequest, *, action: str, change: Callable[[], object], done: str) -> HttpResponse:
    """GET shows the confirm page for `action`; POST makes the `change` and says `done`. Without
    a feed there is nothing to change: back to the security page."""
    if calendar.calendar_feed_get(member=request.user) is None:
        return redirect("accounts:security")
    if request.method == "POST":
        change()
        messages.success(request, done)
        return redirect("accounts:security")
    return render(request, "accounts/calendar_confirm.html", {"action": action})


@login_required
@require_http_methods(["GET", "POST"])
def calendar_feed_rotate(request: HttpRequest) -> HttpResponse:
    """GET asks her to confirm; POST makes a new link and the old one stops working at once."""
    return _confirmed_change(
        request,
        action="rotate",
        change=lambda: _remember_new_url(request, calendar.calendar_feed_rotate(member=request.user)),
        done="You have a new calendar link. The old one no longer works.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def calendar_feed_turn_off(request: HttpRequest) -> HttpResponse:
    """GET asks her to confirm; POST deletes the feed, so its link stops working."""
    return _confirmed_change(
        request,
        action="off",
        change=lambda: calendar.calendar_feed_turn_off(member=request.user),
        done="Your calendar link is turned off. Calendars that used it will stop updating.",
    )
