"""Helpers for workshops tests: signed Zoom deliveries shaped like Zoom's."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings
from django.urls import reverse


def zoom_headers(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = (secret or settings.ZOOM_WEBHOOK_SECRET_TOKEN).encode()
    digest = hmac.new(key, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_ZM_REQUEST_TIMESTAMP": ts, "HTTP_X_ZM_SIGNATURE": f"v0={digest}"}


def participant_event(
    event: str, *, meeting_id: str, email: str, at: str, participant_uuid: str = "part-1", event_ts: int = 1732464000000
) -> dict:
    time_key = "join_time" if event.endswith("joined") else "leave_time"
    return {
        "event": event,
        "event_ts": event_ts,
        "payload": {
            "account_id": "AbCdEf123",
            "object": {
                "id": meeting_id,
                "uuid": "4444AAAiAAAAAiAiAiiAii==",
                "host_id": "x1yCzABCDEfg23HiJKl4mN",
                "topic": "Bloom workshop",
                "type": 2,
                "start_time": at,
                "timezone": "America/Los_Angeles",
                "duration": 90,
                "participant": {
                    "user_id": "16778240",
                    "user_name": "Maya Member",
                    "id": "iFxeBPYun6SAiWUzBcEkX",
                    "participant_uuid": participant_uuid,
                    time_key: at,
                    "email": email,
                    "participant_user_id": "iFxeBPYun6SAiWUzBcEkX",
                },
            },
        },
    }


@pytest.fixture
def post_zoom(client):
    """POST a payload to the Zoom webhook, signed like Zoom signs it unless told otherwise."""

    def post(payload: dict, **sign_kwargs):
        body = json.dumps(payload).encode()
        return client.post(
            reverse("workshops:zoom_webhook"),
            data=body,
            content_type="application/json",
            **zoom_headers(body, **sign_kwargs),
        )

    return post
