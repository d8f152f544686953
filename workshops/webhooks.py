"""Zoom webhooks: the Zoom `WebhookProvider` (bloom/webhooks.py), its URL-validation challenge
and its event handlers.

Zoom signs `v0:{x-zm-request-timestamp}:{raw body}` with HMAC-SHA256 under the app's
secret token and sends `x-zm-signature: v0=<hex>`. Deliveries carry no event id, so the
stored `zoom_event_id` is a digest of the event name, its `event_ts` and the body
(docs/adr/0051): a retried delivery of the same event maps to the same row. Participant
joins and leaves become connection events, from which `workshops.services.attendance` computes each
participant's attended time (docs/adr/0054).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime

from bloom.webhooks import SignatureError, WebhookProvider, verify_timestamped_hmac

from .models import ConnectionEventKind, Workshop, ZoomWebhookEvent
from .services.attendance import attendance_connection_record, attendance_meeting_end_record

URL_VALIDATION = "endpoint.url_validation"
PARTICIPANT_JOINED = "meeting.participant_joined"
PARTICIPANT_LEFT = "meeting.participant_left"
MEETING_ENDED = "meeting.ended"
# A recurring Zoom meeting reuses its id for every session: match the session whose
# time window (widened by this margin) contains the participant's time.
SESSION_MARGIN = timedelta(hours=3)


def signature_verify(*, body: bytes, timestamp: str | None, signature: str | None) -> None:
    """Raise SignatureError unless Zoom signed this body recently."""
    if not signature or not signature.startswith("v0="):
        raise SignatureError("x-zm-signature missing or malformed")
    verify_timestamped_hmac(
        secret=settings.ZOOM_WEBHOOK_SECRET_TOKEN,
        timestamp=timestamp or "",
        signed_payload=b"v0:" + (timestamp or "").encode() + b":" + body,
        signatures=[signature.removeprefix("v0=")],
        tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
    )


def url_validation_answer(plain_token: str) -> dict:
    """Zoom's endpoint challenge: echo plainToken with its HMAC-SHA256 under the secret token."""
    encrypted = hmac.new(settings.ZOOM_WEBHOOK_SECRET_TOKEN.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}


def event_id_for(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return f"{payload.get('event', '')}:{payload.get('event_ts', '')}:{hashlib.sha256(canonical).hexdigest()}"


def _workshop_for(meeting_id: str, when: datetime) -> Workshop | None:
    candidates = Workshop.all_objects.filter(
        zoom_meeting_id=meeting_id,
        starts_at__lte=when + SESSION_MARGIN,
        ends_at__gte=when - SESSION_MARGIN,
    ).order_by("starts_at")
    return candidates.first()


def _participant(event: ZoomWebhookEvent, time_key: str) -> tuple[Workshop | None, dict, datetime | None]:
    meeting = event.event_data.get("payload", {}).get("object", {})
    participant = meeting.get("participant", {}) or {}
    when = parse_datetime(participant.get(time_key) or "")
    if when is None:
        return None, participant, None
    return _workshop_for(str(meeting.get("id", "")), when), participant, when


def _connection_record(event: ZoomWebhookEvent, *, kind: str, time_key: str) -> str:
    workshop, participant, when = _participant(event, time_key)
    if workshop is None:
        return "no matching workshop"
    # Zoom's ids for this one connection: both change when the participant reconnects.
    connection_id = str(participant.get("participant_uuid") or participant.get("user_id") or "")
    if not connection_id:
        return "no participant id"
    _, created = attendance_connection_record(
        workshop=workshop,
        kind=kind,
        at=when,
        connection_id=connection_id,
        email=participant.get("email") or "",
        name=participant.get("user_name") or "",
        registrant_id=str(participant.get("registrant_id") or ""),
    )
    return kind if created else "duplicate"


def _handle_joined(event: ZoomWebhookEvent) -> str:
    return _connection_record(event, kind=ConnectionEventKind.JOINED, time_key="join_time")


def _handle_left(event: ZoomWebhookEvent) -> str:
    return _connection_record(event, kind=ConnectionEventKind.LEFT, time_key="leave_time")


def _handle_ended(event: ZoomWebhookEvent) -> str:
    meeting = event.event_data.get("payload", {}).get("object", {})
    ended_at = parse_datetime(meeting.get("end_time") or "")
    if ended_at is None:
        return "no end time"
    workshop = _workshop_for(str(meeting.get("id", "")), ended_at)
    if workshop is None:
        return "no matching workshop"
    recomputed = attendance_meeting_end_record(workshop=workshop, ended_at=ended_at)
    return f"ended ({recomputed} recomputed)"


HANDLERS = {PARTICIPANT_JOINED: _handle_joined, PARTICIPANT_LEFT: _handle_left, MEETING_ENDED: _handle_ended}


class ZoomProvider(WebhookProvider):
    """Zoom: `x-zm-signature`, keyed by `event_id_for`; answers Zoom's URL challenge unstored."""

    name = "zoom"
    model = ZoomWebhookEvent
    id_field = "zoom_event_id"
    handlers = HANDLERS
    process_task = "workshops.tasks.zoom_event_process_task"

    def verify(self, *, headers, raw: bytes) -> None:
        signature_verify(
            body=raw, timestamp=headers.get("x-zm-request-timestamp"), signature=headers.get("x-zm-signature")
        )

    def answer_early(self, payload: dict) -> HttpResponse | None:
        if payload.get("event") != URL_VALIDATION:
            return None
        plain_token = str((payload.get("payload") or {}).get("plainToken", ""))
        return JsonResponse(url_validation_answer(plain_token))

    def event_identity(self, payload: dict) -> tuple[str, str]:
        return event_id_for(payload), str(payload.get("event", ""))

    def accepted(self) -> HttpResponse:
        return JsonResponse({"received": True})


PROVIDER = ZoomProvider()
