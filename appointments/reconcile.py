"""Nightly reconciliation with Calendly: bookings and cancellations whose webhooks never arrived.

Reads Calendly's API v2 (`GET /scheduled_events` for the organization or user, from `days`
ago on, active and canceled, following `pagination.next_page_token`; then `GET
/scheduled_events/{uuid}/invitees` for each) and compares every invitee with
`appointment_data`. A missing booking or a cancellation Bloom never heard of becomes a
`calendly_webhook_events` row shaped like the webhook Calendly would have sent, under a
deterministic id ("reconcile:<invitee uri>:<status>"), and is applied through the same
provider path as a delivered webhook (appointments.webhooks), so the same linkage rules apply
and a second run stores nothing new.

All or nothing on reading (docs/adr/0213): Calendly is read completely before anything is
stored; a timeout, refused connection, 5xx, 4xx or unreadable answer anywhere stops the run
with nothing applied, a logged error and a failed summary. Each difference is then stored and
applied in its own transaction; one that fails stays stored with its error, for the webhook
sweep to retry and staff to see in the Calendly events admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import AppointmentData, AppointmentStatus, CalendlyWebhookEvent
from .webhooks import PROVIDER

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 7
PAGE_SIZE = 100
MAX_PAGES = 1000  # a runaway next_page_token loop stops here
UNCHANGED = ("skipped", "done_or_out_of_attempts")  # the webhook path found nothing to do


class CalendlyAPIError(Exception):
    """Calendly could not be read; `reason` says why in words staff can act on (no token, no body)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ReconcileResult:
    days: int
    events_read: int = 0
    invitees_read: int = 0
    bookings_applied: int = 0
    cancellations_applied: int = 0
    already_recorded: int = 0
    conflicts: int = 0
    failures: list[str] = field(default_factory=list)
    error: str = ""  # Calendly could not be read: nothing was applied

    @property
    def ok(self) -> bool:
        return not self.error and not self.failures

    def summary(self) -> str:
        if self.error:
            return f"Calendly reconciliation stopped, nothing applied: {self.error}"
        parts = [
            f"{self.events_read} events and {self.invitees_read} invitees read over {self.days} days",
            f"{self.bookings_applied} missed bookings and {self.cancellations_applied} missed cancellations applied",
        ]
        if self.already_recorded:
            parts.append(f"{self.already_recorded} already recorded or applied by an earlier run")
        if self.conflicts:
            parts.append(f"{self.conflicts} active in Calendly but closed in Bloom (left for staff)")
        parts.append(f"{len(self.failures)} failed")
        return "Calendly reconciliation: " + "; ".join(parts) + "."

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "bookings_applied": self.bookings_applied,
            "cancellations_applied": self.cancellations_applied,
            "failures": self.failures,
        }


# --- Calendly's API ------------------------------------------------------------------------------


class CalendlyClient:
    """GETs on Calendly's API v2 with the personal access token; every failure is a CalendlyAPIError."""

    def __init__(self) -> None:
        if not settings.CALENDLY_API_TOKEN:
            raise CalendlyAPIError("CALENDLY_API_TOKEN is not set")
        self.base = settings.CALENDLY_API_BASE.rstrip("/")
        self.timeout = settings.CALENDLY_API_TIMEOUT
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {settings.CALENDLY_API_TOKEN}", "Accept": "application/json"}
        )

    def get(self, path: str, params: dict) -> dict:
        url = f"{self.base}{path}"
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout as exc:
            raise CalendlyAPIError(f"Calendly did not answer {path} within {self.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise CalendlyAPIError(f"could not reach Calendly for {path} ({type(exc).__name__})") from exc
        if response.status_code in (401, 403):
            raise CalendlyAPIError(
                f"Calendly refused the API token ({response.status_code}) for {path}; check CALENDLY_API_TOKEN"
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise CalendlyAPIError(f"Calendly answered {response.status_code} for {path}; try again later")
        if response.status_code >= 400:
            raise CalendlyAPIError(
                f"Calendly refused the request for {path} ({response.status_code}): {_title(response)}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CalendlyAPIError(f"Calendly's answer for {path} is not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("collection"), list):
            raise CalendlyAPIError(f"Calendly's answer for {path} has no collection")
        return body

    def collection(self, path: str, params: dict) -> Iterator[dict]:
        """Every item of a paginated collection, following `pagination.next_page_token`."""
        params = {**params, "count": PAGE_SIZE}
        for _page in range(MAX_PAGES):
            body = self.get(path, params)
            for item in body["collection"]:
                if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
                    raise CalendlyAPIError(f"Calendly's answer for {path} holds an item without a uri")
                yield item
            token = (body.get("pagination") or {}).get("next_page_token")
            if not token:
                return
            params = {**params, "page_token": token}
        raise CalendlyAPIError(f"Calendly's pages for {path} did not end after {MAX_PAGES} pages")


def _title(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no details"
    title = body.get("title") or body.get("message") if isinstance(body, dict) else None
    return str(title)[:200] if title else "no details"


def _scope() -> dict:
    if settings.CALENDLY_ORGANIZATION_URI:
        return {"organization": settings.CALENDLY_ORGANIZATION_URI}
    if settings.CALENDLY_USER_URI:
        return {"user": settings.CALENDLY_USER_URI}
    raise CalendlyAPIError("neither CALENDLY_ORGANIZATION_URI nor CALENDLY_USER_URI is set")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def calendly_invitees_fetch(
    *, since: datetime, progress: Callable[[int, int], None] | None = None
) -> tuple[int, list[tuple[dict, dict]]]:
    """Every (scheduled event, invitee) pair of sessions starting after `since`, active and canceled.

    Reads everything before returning (CalendlyAPIError on any failure); `progress` gets
    (events done, events found) after each event's invitees are read.
    """
    client = CalendlyClient()
    scope = _scope()
    events = []
    for status in ("active", "canceled"):
        events.extend(
            client.collection(
                "/scheduled_events",
                {**scope, "min_start_time": _iso(since), "status": status, "sort": "start_time:asc"},
            )
        )
    pairs = []
    for done, event in enumerate(events, start=1):
        event_uuid = event["uri"].rstrip("/").rsplit("/", 1)[-1]
        pairs.extend((event, invitee) for invitee in client.collection(f"/scheduled_events/{event_uuid}/invitees", {}))
        if progress is not None:
            progress(done, len(events))
    return len(events), pairs


# --- Applying what the webhooks missed ------------------------------------------------------------


def _webhook_body(*, event: dict, invitee: dict, canceled: bool) -> dict:
    """The body Calendly's webhook would have carried for this invitee (appointments.webhooks)."""
    cancellation = invitee.get("cancellation") or {}
    when = (
        (cancellation.get("created_at") if canceled else None) or invitee.get("updated_at") or invitee.get("created_at")
    )
    return {
        "event": "invitee.canceled" if canceled else "invitee.created",
        "created_at": when,
        "created_by": "reconciliation",
        "payload": {**invitee, "scheduled_event": event},
    }


def _difference(invitee: dict, known: dict[str, str]) -> str | None:
    """Which webhook Bloom missed for this invitee: "active", "canceled", "conflict" or None."""
    local = known.get(invitee["uri"])
    canceled = invitee.get("status") == "canceled"
    if canceled:
        return "canceled" if local in (None, AppointmentStatus.SCHEDULED) else None
    if local is None:
        return "active"
    if local in (AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULED):
        return "conflict"
    return None


def _apply(*, event: dict, invitee: dict, status: str) -> str:
    """Store the synthetic event (deterministic id) and process it as the webhook task would."""
    external_id = f"reconcile:{invitee['uri']}:{status}"
    body = _webhook_body(event=event, invitee=invitee, canceled=status == "canceled")
    with transaction.atomic():
        event_id = PROVIDER.store(external_id=external_id, event_type=body["event"], payload=body)
        if event_id is None:
            stored = CalendlyWebhookEvent.objects.filter(event_uuid=external_id).values("pk", "processed").first()
            if stored is None or stored["processed"]:
                return "already_recorded"
            event_id = str(stored["pk"])
        try:
            return PROVIDER.task_run(event_id)
        except Exception as exc:  # noqa: BLE001 - the event stays stored with its error, for the sweep and staff
            return f"error: {type(exc).__name__}: {exc}"[:300]


def calendly_reconcile(
    *, days: int = DEFAULT_DAYS, now: datetime | None = None, progress: Callable[[int, int], None] | None = None
) -> ReconcileResult:
    """Find and apply Calendly bookings and cancellations of the last `days` days (and everything
    ahead) whose webhooks never arrived. Idempotent: a second run finds nothing new.

    Guarantees: nothing is stored unless Calendly was read completely (`result.error` says why
    not, and it is logged); each difference is one webhook event applied through the webhook
    provider, in its own transaction; a failed one is in `result.failures` and stays stored.
    """
    now = now or timezone.now()
    result = ReconcileResult(days=days)
    try:
        result.events_read, pairs = calendly_invitees_fetch(since=now - timedelta(days=days), progress=progress)
    except CalendlyAPIError as exc:
        result.error = exc.reason
        logger.error("calendly reconciliation stopped, nothing applied: %s", exc.reason)
        return result
    result.invitees_read = len(pairs)
    uris = [invitee["uri"] for _event, invitee in pairs]
    known = dict(
        AppointmentData.objects.filter(calendly_invitee_uri__in=uris).values_list("calendly_invitee_uri", "status")
    )
    for event, invitee in pairs:
        status = _difference(invitee, known)
        if status is None:
            continue
        if status == "conflict":
            result.conflicts += 1
            logger.warning("calendly invitee %s is active in Calendly but closed in Bloom", invitee["uri"])
            continue
        outcome = _apply(event=event, invitee=invitee, status=status)
        if outcome.startswith("error"):
            result.failures.append(f"{invitee['uri']}: {outcome}")
            logger.error("calendly reconciliation could not apply %s: %s", invitee["uri"], outcome)
        elif outcome == "already_recorded" or outcome.startswith("ignored") or outcome in UNCHANGED:
            result.already_recorded += 1
        elif status == "canceled":
            result.cancellations_applied += 1
        else:
            result.bookings_applied += 1
        known[invitee["uri"]] = AppointmentStatus.CANCELLED if status == "canceled" else AppointmentStatus.SCHEDULED
    return result
