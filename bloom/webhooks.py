"""The one ingestion path for provider webhooks (Stripe, Calendly, Zoom, the email provider).

ARCHITECTURE.md: read the raw body, verify the signature in constant time with a
timestamp tolerance, insert the event row keyed by the provider's unique id (a duplicate
is a no-op that still answers 200), enqueue processing after commit, answer 200 fast.
Processing locks the row with SKIP LOCKED, applies the event idempotently and records the
outcome; a sweeper re-enqueues stale rows.

Each provider app defines a concrete model from `WebhookEventBase` (with its own unique
id column, e.g. `stripe_event_id`) and calls these helpers. Its view is wrapped in
`webhook_endpoint` and routed with `webhook_paths` (docs/adr/0053): providers do not follow
redirects on POST and retry only what answers 5xx, so an endpoint answers with or without
its trailing slash and says 503, never 500, when it could not store the event.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, InterfaceError, models, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.http import HttpResponse
from django.urls import URLPattern, path, re_path
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bloom.models import created_at_field, uuid_pk

logger = logging.getLogger(__name__)

IGNORED = "ignored"
MAX_ATTEMPTS = 8
# Seconds a provider is asked to wait before retrying a delivery we could not store.
RETRY_AFTER_SECONDS = 60


class SignatureError(Exception):
    """The request was not signed by the provider (or is stale); answer 400."""


class WebhookEventBase(models.Model):
    id = uuid_pk()
    event_type = models.TextField()
    event_data = models.JSONField()
    # Nullable with a default, exactly as the seed writes `processed BOOLEAN DEFAULT false`.
    processed = models.BooleanField(null=True, default=False, db_default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    outcome = models.TextField(blank=True, default="", db_default="")
    created_at = created_at_field(null=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} ({'processed' if self.processed else 'pending'})"


def webhook_endpoint(view: Callable) -> Callable:
    """Make `view` a provider's webhook endpoint.

    Providers authenticate by signature, not by session or CSRF token, so the view is
    public and CSRF-exempt (it must verify the signature itself). Any database failure
    while it runs (refused or exhausted connections, a dropped connection, a failing
    statement) answers 503 with `Retry-After` instead of 500: nothing was stored, and a
    5xx is what makes Stripe, Calendly, Zoom and email providers deliver again.
    So does an endpoint that cannot verify for want of configuration (anymail mounts every
    ESP's webhooks, and one whose signing key or package is missing raises
    ImproperlyConfigured on each request): the provider keeps its events until the setting
    is fixed. Wrapping an endpoint twice changes nothing.
    """
    if getattr(view, "is_webhook_endpoint", False):
        return view

    @functools.wraps(view)
    def endpoint(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (DatabaseError, InterfaceError):
            logger.exception("webhook %s not stored: database unavailable; the provider will retry", request.path)
            return _retry_later()
        except ImproperlyConfigured as error:
            # No traceback: anyone can POST here, and the message names the missing setting.
            logger.error("webhook %s not stored: not configured (%s); the provider will retry", request.path, error)
            return _retry_later()

    endpoint.is_webhook_endpoint = True
    return csrf_exempt(login_not_required(endpoint))


def _retry_later() -> HttpResponse:
    return HttpResponse(
        "temporarily unavailable, please retry",
        status=503,
        content_type="text/plain",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def webhook_paths(route: str, view: Callable, *, name: str) -> list[URLPattern]:
    """Route `route` with and without its trailing slash to `view` as a `webhook_endpoint`.

    Django's APPEND_SLASH would answer the slash-less URL with a 301, which providers do
    not follow on POST. `reverse(name)` gives the form with the slash.
    """
    route, endpoint = route.rstrip("/"), webhook_endpoint(view)
    return [path(f"{route}/", endpoint, name=name), path(route, endpoint)]


def webhook_urlconf(module: str) -> list[URLPattern]:
    """A third-party URLconf of webhook views (anymail's), each view a `webhook_endpoint`
    answering with or without its trailing slash. Include it under the module's namespace."""
    patterns = []
    for pattern in importlib.import_module(module).urlpatterns:
        endpoint = webhook_endpoint(pattern.callback)
        route, args, name = str(pattern.pattern), pattern.default_args, pattern.name
        if isinstance(pattern.pattern, RegexPattern) and route.endswith("/$"):
            patterns += [re_path(route, endpoint, args, name), re_path(route.removesuffix("/$") + "$", endpoint, args)]
        elif isinstance(pattern.pattern, RoutePattern) and route.endswith("/"):
            patterns += [path(route, endpoint, args, name), path(route.removesuffix("/"), endpoint, args)]
        else:
            patterns.append(URLPattern(pattern.pattern, endpoint, args, name))
    return patterns


def verify_timestamped_hmac(
    *,
    secret: str,
    timestamp: str | int,
    signed_payload: bytes,
    signatures: list[str],
    tolerance: int,
    now: float | None = None,
) -> None:
    """Check an HMAC-SHA256 signature over `signed_payload` and the timestamp window.

    Rejects timestamps older than `tolerance` seconds and more than `tolerance` seconds
    in the future. Comparison is constant-time.
    """
    try:
        ts = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise SignatureError("timestamp missing or not a number") from exc
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance:
        raise SignatureError("timestamp outside the tolerance window")
    expected = hmac.new(secret.encode(), signed_payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("signature does not match")


def event_store(
    *,
    model: type[WebhookEventBase],
    id_field: str,
    external_id: str,
    event_type: str,
    payload: dict,
    enqueue: Callable[[str], None],
) -> tuple[WebhookEventBase | None, bool]:
    """Insert the event row unless it exists; enqueue processing after commit.

    Returns (event, created). A duplicate delivery inserts nothing and enqueues nothing.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = model.objects.create(**{id_field: external_id}, event_type=event_type, event_data=payload)
        except IntegrityError:
            return None, False
        event_id = str(event.pk)
        transaction.on_commit(lambda: enqueue(event_id))
    return event, True


def event_process(
    *,
    model: type[WebhookEventBase],
    event_id: str,
    handlers: dict[str, Callable[[WebhookEventBase], str | None]],
) -> str:
    """Apply one stored event exactly once.

    Locks the row with SKIP LOCKED (a concurrent worker holding it makes this a no-op),
    runs the handler for its type inside the same transaction, and records the outcome.
    A handler raising leaves its effects rolled back, counts an attempt and stores the
    error, then re-raises so the task can retry with backoff. Unknown types are marked
    processed with outcome "ignored". Returns the outcome.
    """
    try:
        with transaction.atomic():
            event = model.objects.select_for_update(skip_locked=True).filter(pk=event_id, processed=False).first()
            if event is None:
                return "skipped"
            handler = handlers.get(event.event_type)
            outcome = IGNORED if handler is None else (handler(event) or "applied")
            model.objects.filter(pk=event.pk).update(
                processed=True,
                processed_at=Now(),
                error_message=None,
                outcome=outcome,
                attempts=F("attempts") + 1,
            )
            return outcome
    except Exception as exc:
        model.objects.filter(pk=event_id, processed=False).update(
            error_message=f"{type(exc).__name__}: {exc}"[:2000], attempts=F("attempts") + 1
        )
        logger.exception("webhook event %s failed", event_id)
        raise


def stale_event_ids(*, model: type[WebhookEventBase], older_than: timedelta, limit: int = 500) -> list[str]:
    """Unprocessed events older than `older_than` that have attempts left."""
    cutoff = timezone.now() - older_than
    return [
        str(pk)
        for pk in model.objects.filter(processed=False, created_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    ]
