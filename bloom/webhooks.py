"""The one ingestion path for provider webhooks (docs/adr/0003).

A provider is a `WebhookProvider` subclass in its app's `webhooks.py`, exposed there as
`PROVIDER` (billing: Stripe, appointments: Calendly, workshops: Zoom). It says how to
verify a delivery, what identifies an event and which handler applies each event type;
everything else is the base class's and so the same for every provider:

- `receive(request)`: verify the raw body, parse it, store it, answer 200; a delivery that
  fails verification or parsing answers 400, stores nothing and writes one security event
  named `<provider>_webhook_rejected`;
- `store()`: the one insert path, `INSERT ... ON CONFLICT DO NOTHING` on the provider's
  unique id column, so a duplicate delivery inserts and wakes nothing;
- `enqueue()` after commit through `bloom.tasks.send`: with the broker down nothing fails,
  the row waits for the sweep;
- `process()`: lock the row with SKIP LOCKED, run the handler, record outcome and attempts;
  the app's process task retries with the `BACKOFF` policy (bloom/taskdef.py);
- `sweep()` (all providers: `bloom.tasks.webhooks_sweep_task`) and `reprocess()`
  (`manage.py webhooks_reprocess`, the admin action of `bloom.admin_webhooks`).

Each view is wrapped in `webhook_endpoint` and routed with `webhook_paths` (docs/adr/0053):
providers do not follow redirects on POST and retry only what answers 5xx, so an endpoint
answers with or without its trailing slash and says 503, never 500, when it could not store
the event.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cached_property, partial
from typing import ClassVar

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, connection, models, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, path, re_path
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from bloom.models import created_at_field, uuid_pk
from bloom.taskdef import MAX_ATTEMPTS

logger = logging.getLogger(__name__)

IGNORED = "ignored"
SKIPPED = "skipped"
# An unprocessed event this old has lost its wake-up; the sweep sends it again.
STALE_AFTER = timedelta(minutes=5)
# Seconds a provider is asked to wait before retrying a delivery we could not store.
RETRY_AFTER_SECONDS = 60


class WebhookRejected(Exception):
    """A delivery Bloom will not store; answer 400 and record a security event."""


class SignatureError(WebhookRejected):
    """The request was not signed by the provider (or is stale); answer 400."""


class PayloadError(WebhookRejected):
    """A correctly signed body that is not one of the provider's events; answer 400."""


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


def signature_header_parse(header: str) -> tuple[str, list[str]]:
    """`t=<ts>,v1=<hex>[,v1=<hex>]` (Stripe's and Calendly's header) -> (timestamp, v1 signatures)."""
    timestamp, signatures = "", []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


Handler = Callable[[WebhookEventBase], str | None]


class WebhookProvider:
    """One webhook provider: what differs is declared by the subclass, the rest is shared.

    A subclass sets `name`, `model` (a `WebhookEventBase`), `id_field` (its unique column),
    `handlers` (event type -> handler returning an outcome word) and `process_task` (dotted
    path of the app's Celery task that calls `task_run`), and implements `verify` and
    `event_identity`. `answer_early` (Zoom's URL challenge), `accepted`, `enqueue` (Stripe's
    drain) and `after_process` (Stripe's dj-stripe mirror) may be overridden.
    """

    name: ClassVar[str]
    model: ClassVar[type[WebhookEventBase]]
    id_field: ClassVar[str]
    handlers: ClassVar[Mapping[str, Handler]]
    process_task: ClassVar[str]
    # An encrypted column of `model` for the part of a payload that must not sit in plain JSON.
    private_field: ClassVar[str | None] = None

    def __str__(self) -> str:
        return self.name

    @property
    def security_event(self) -> str:
        """The `security_events.event_type` of a refused delivery: one scheme for every provider."""
        return f"{self.name}_webhook_rejected"

    # --- in the request ---------------------------------------------------------------------

    def verify(self, *, headers: Mapping[str, str], raw: bytes) -> None:
        """Raise SignatureError unless the provider signed `raw` recently."""
        raise NotImplementedError

    def parse(self, raw: bytes) -> dict:
        """The verified body as a JSON object; PayloadError otherwise."""
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError("body is not JSON") from exc
        if not isinstance(payload, dict):
            raise PayloadError("body is not a JSON object")
        return payload

    def event_identity(self, payload: dict) -> tuple[str, str]:
        """(the event's unique id, its type); PayloadError when the body lacks them."""
        raise NotImplementedError

    def private_split(self, payload: dict) -> tuple[dict, object | None]:
        """(the payload to store in `event_data`, the part for `private_field` or None)."""
        return payload, None

    def answer_early(self, payload: dict) -> HttpResponse | None:
        """A response that replaces storing (a verified challenge), or None to store."""
        return None

    def accepted(self) -> HttpResponse:
        return HttpResponse("ok")

    def receive(self, request, *, reject: Callable[..., object]) -> HttpResponse:
        """The endpoint's body: verify, parse, store, answer (wrap the view in `webhook_endpoint`).

        A refused delivery answers 400, stores nothing and calls `reject` (the app passes
        `accounts.services.security_event_record`) with `security_event` and the reason.
        """
        raw = request.body
        try:
            self.verify(headers=request.headers, raw=raw)
            payload = self.parse(raw)
            early = self.answer_early(payload)
            if early is not None:
                return early
            external_id, event_type = self.event_identity(payload)
        except WebhookRejected as exc:
            logger.warning("%s webhook refused: %s", self.name, exc)
            reject(
                event_type=self.security_event,
                request=request,
                details={"provider": self.name, "reason": str(exc)[:200], "bytes": len(raw)},
            )
            return HttpResponseBadRequest("invalid webhook")
        self.store(external_id=external_id, event_type=event_type, payload=payload, raw=raw)
        return self.accepted()

    @cached_property
    def _insert_sql(self) -> str:
        table = connection.ops.quote_name(self.model._meta.db_table)
        key = connection.ops.quote_name(self.model._meta.get_field(self.id_field).column)
        # Table and column come from the model's meta, quoted; the values are parameters.
        private = ""
        if self.private_field is not None:
            private = ", " + connection.ops.quote_name(self.model._meta.get_field(self.private_field).column)
        columns = f"(id, {key}, event_type, event_data, processed, attempts, outcome, created_at{private})"
        values = f"(gen_random_uuid(), %s, %s, %s::jsonb, false, 0, '', now(){', %s' if private else ''})"
        return f"INSERT INTO {table} {columns} VALUES {values} ON CONFLICT ({key}) DO NOTHING RETURNING id"  # noqa: S608

    def store(self, *, external_id: str, event_type: str, payload: dict, raw: bytes | None = None) -> str | None:
        """Insert the event unless its id is stored; enqueue it after commit. The one insert path.

        One statement, `INSERT ... ON CONFLICT DO NOTHING` (docs/adr/0034): a duplicate
        inserts and enqueues nothing. `raw` (the verified body) is stored as is, saving a
        JSON re-encode. A provider with a `private_field` stores what `private_split` takes out
        of the payload (health information) in that encrypted column instead of `event_data`.
        Returns the new row's id, or None for a duplicate.
        """
        params = []
        if self.private_field is not None:
            payload, private = self.private_split(payload)
            if private is not None:
                raw = None  # the verified body still holds what was taken out
            params.append(self.model._meta.get_field(self.private_field).get_prep_value(private))
        body = raw.decode() if raw is not None else json.dumps(payload)
        with connection.cursor() as cursor:
            cursor.execute(self._insert_sql, [external_id, event_type, body, *params])
            row = cursor.fetchone()
        if row is None:
            return None
        event_id = str(row[0])
        transaction.on_commit(partial(self.enqueue, event_id))
        return event_id

    def store_payload(self, payload: dict) -> str | None:
        """`store` for an event that did not come through `receive` (reconciliation, tests)."""
        external_id, event_type = self.event_identity(payload)
        return self.store(external_id=external_id, event_type=event_type, payload=payload)

    def task(self):
        return import_string(self.process_task)

    def enqueue(self, event_id: str) -> None:
        """Wake processing of one stored event; never raises (a lost wake-up waits for the sweep)."""
        from bloom.tasks import send

        send(self.task(), event_id)

    # --- in the worker ----------------------------------------------------------------------

    def process(self, event_id: str) -> str:
        """Apply one stored event exactly once.

        Locks the row with SKIP LOCKED (a concurrent worker holding it makes this a no-op,
        "skipped"), runs the handler for its type inside the same transaction, and records
        the outcome. A handler raising leaves its effects rolled back, counts an attempt and
        stores the error, then re-raises so the task can retry with backoff. Unknown types
        are marked processed with outcome "ignored". Returns the outcome.
        """
        model = self.model
        try:
            with transaction.atomic():
                event = model.objects.select_for_update(skip_locked=True).filter(pk=event_id, processed=False).first()
                if event is None:
                    return SKIPPED
                handler = self.handlers.get(event.event_type)
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
            logger.exception("%s webhook event %s failed", self.name, event_id)
            raise

    def after_process(self, *, event_ids: list[str]) -> None:
        """Called with the events a worker applied (outcome not skipped/ignored/unmatched)."""

    def task_run(self, event_id: str) -> str:
        """The process task's body: an event done or out of attempts is left alone."""
        if not self.model.objects.filter(pk=event_id, processed=False, attempts__lt=MAX_ATTEMPTS).exists():
            return "done_or_out_of_attempts"
        outcome = self.process(event_id)
        if outcome not in NOT_APPLIED:
            self.after_process(event_ids=[event_id])
        return outcome

    def sweep(self, *, older_than: timedelta = STALE_AFTER, limit: int = 500) -> int:
        """Send again every unprocessed event older than `older_than` that has attempts left."""
        from bloom.tasks import send

        cutoff = timezone.now() - older_than
        ids = [
            str(pk)
            for pk in self.model.objects.filter(processed=False, created_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        ]
        task = self.task()
        for event_id in ids:
            send(task, event_id)
        return len(ids)

    def reprocess_select(
        self, *, event_ids: list[str] | None = None, include_processed: bool = False, limit: int | None = None
    ) -> list[str]:
        """The events `reprocess` would take, oldest first: the unprocessed ones (among
        `event_ids` when given), and processed ones too only with `include_processed`."""
        events = self.model.objects.all()
        if event_ids is not None:
            events = events.filter(pk__in=event_ids)
        if not include_processed:
            events = events.filter(processed=False)
        ids = events.order_by("created_at").values_list("pk", flat=True)
        return [str(pk) for pk in (ids[:limit] if limit else ids)]

    def reprocess(
        self,
        *,
        event_ids: list[str] | None = None,
        include_processed: bool = False,
        inline: bool = False,
        limit: int | None = None,
        progress: Callable[[int, int, str, str], None] | None = None,
    ) -> list[tuple[str, str]]:
        """Process the selected events again (see `reprocess_select`) with a fresh set of attempts.

        Each is marked pending with its attempt count back at zero (the last error stays
        until an attempt succeeds), then applied here and now (`inline`), or queued for the
        worker after commit. Handlers are idempotent, so applying an event twice changes
        nothing. Returns (event id, outcome) pairs: the outcome, "queued", or "error: ..."
        when inline processing failed (the error is stored on the row too). `progress`
        gets (index, total, event id, outcome) after each event.
        """
        from bloom.tasks import enqueue

        ids = self.reprocess_select(event_ids=event_ids, include_processed=include_processed, limit=limit)
        self.model.objects.filter(pk__in=ids).update(processed=False, processed_at=None, attempts=0)
        results = []
        for index, event_id in enumerate(ids, start=1):
            if not inline:
                enqueue(self.task(), event_id)
                outcome = "queued"
            else:
                try:
                    outcome = self.process(event_id)
                except Exception as exc:  # noqa: BLE001 - reported per event; the error is stored on the row
                    outcome = f"error: {type(exc).__name__}: {exc}"
                else:
                    if outcome not in NOT_APPLIED:
                        self.after_process(event_ids=[event_id])
            results.append((event_id, outcome))
            if progress is not None:
                progress(index, len(ids), event_id, outcome)
        return results


# Outcomes after which nothing was applied (so nothing follows, e.g. no dj-stripe mirror).
UNMATCHED = "unmatched"
NOT_APPLIED = frozenset({SKIPPED, IGNORED, UNMATCHED})


def webhook_providers() -> dict[str, WebhookProvider]:
    """Every app's `PROVIDER` (from `<app>/webhooks.py`), by name."""
    from bloom.discovery import local_app_modules

    providers = {}
    for _label, module in local_app_modules("webhooks"):
        provider = getattr(module, "PROVIDER", None)
        if provider is not None:
            providers[provider.name] = provider
    return providers
