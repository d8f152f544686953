"""Structured logs: request ids, pseudonymous user ids, task ids and timing (docs/adr/0152).

Every module keeps logging through the standard library (`logging.getLogger(__name__)`);
structlog's ProcessorFormatter renders each record, adding what `structlog.contextvars`
holds for the current request or task. Production writes one JSON object per line
(`BLOOM_LOG_FORMAT=json`), development a readable console line.

What a log line may carry about a person: the pseudonym of their user id (an HMAC, never the
id itself, the email or a name). Request lines carry the URL *pattern* (`courses/<slug:slug>/`),
never the path or query string, which can hold tokens and addresses. As a last guard every
rendered line has email addresses replaced by `[email]`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars, reset_contextvars

REQUEST_ID_HEADER = "X-Request-ID"
# What an upstream request id may look like: a proxy's hex id or a UUID, never free text.
_REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

request_logger = logging.getLogger("bloom.request")
task_logger = logging.getLogger("bloom.task")


def user_pseudonym(user_id) -> str:
    """A stable, non-reversible id for `user_id` in logs: HMAC-SHA256 under BLOOM_LOG_HMAC_KEY."""
    from django.conf import settings
    from django.utils.crypto import salted_hmac

    secret = settings.BLOOM_LOG_HMAC_KEY or settings.SECRET_KEY
    return "u_" + salted_hmac("bloom.logging.user", str(user_id), secret=secret, algorithm="sha256").hexdigest()[:16]


def _scrub_emails(_logger, _name, event_dict: dict) -> dict:
    for key, value in event_dict.items():
        if isinstance(value, str) and "@" in value:
            event_dict[key] = _EMAIL.sub("[email]", value)
    return event_dict


def _drop_internal(_logger, _name, event_dict: dict) -> dict:
    event_dict.pop("_record", None)
    event_dict.pop("_from_structlog", None)
    return event_dict


_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _formatter(renderer) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_PRE_CHAIN,
        processors=[_drop_internal, structlog.processors.format_exc_info, _scrub_emails, renderer],
    )


def json_formatter() -> logging.Formatter:
    """LOGGING formatter factory: one JSON object per line."""
    return _formatter(structlog.processors.JSONRenderer(sort_keys=False))


def console_formatter() -> logging.Formatter:
    """LOGGING formatter factory: a readable line for the terminal (development, tests)."""
    return _formatter(structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback))


class NoDebugRecords(logging.Filter):
    """Drops a logger's DEBUG records whatever level logging is set to. On `stripe` they carry
    every request's form body and response JSON (customers' emails and names); on
    `django.template` a missing variable logs the whole context of the template (a member's
    address and name in every email)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _trusted_request_id(request) -> str | None:
    from django.conf import settings

    if not settings.BLOOM_TRUST_REQUEST_ID:
        return None
    value = request.headers.get(REQUEST_ID_HEADER, "").strip()
    return value if _REQUEST_ID_SHAPE.match(value) else None


class RequestIdMiddleware:
    """Gives each request an id (the proxy's `X-Request-ID` when BLOOM_TRUST_REQUEST_ID, else a
    new one), binds it and the user's pseudonym to every log line of the request, echoes it in
    the response's `X-Request-ID` and logs one `request` line with the route, status and time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clear_contextvars()
        request.request_id = _trusted_request_id(request) or uuid.uuid4().hex
        bind_contextvars(request_id=request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except Exception:
            self._log(request, 500, started)
            clear_contextvars()
            raise
        response[REQUEST_ID_HEADER] = request.request_id
        self._log(request, response.status_code, started)
        clear_contextvars()
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # AuthenticationMiddleware has run by now: later lines of this request carry the user.
        self._bind_user(request)

    @staticmethod
    def _bind_user(request) -> None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "user" not in get_contextvars():
            bind_contextvars(user=user_pseudonym(user.pk))

    def _log(self, request, status: int, started: float) -> None:
        self._bind_user(request)
        match = getattr(request, "resolver_match", None)
        fields = {
            "method": request.method,
            "route": "/" + match.route if match is not None else None,
            "view": match.view_name if match is not None else None,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        with structlog.contextvars.bound_contextvars(**fields):
            request_logger.info("request")


# --- Celery: task id, name and timing on every line a task logs -----------------------------


def _task_prerun(task_id=None, task=None, **_kwargs) -> None:
    # Bound on top of what was there (a request, when a test runs the task eagerly) and reset
    # to it afterwards; in a worker there is nothing underneath.
    tokens = bind_contextvars(task_id=task_id, task=getattr(task, "name", None))
    _task_runs[task_id] = (time.perf_counter(), tokens)


def _task_postrun(task_id=None, task=None, state=None, **_kwargs) -> None:
    started, tokens = _task_runs.pop(task_id, (None, {}))
    duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    with structlog.contextvars.bound_contextvars(state=state, duration_ms=duration):
        task_logger.info("task finished")
    reset_contextvars(**tokens)


_task_runs: dict[str, tuple[float, dict]] = {}


def connect_celery_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_prerun, dispatch_uid="bloom-logging-task-prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="bloom-logging-task-postrun", weak=False)
