"""Calendly-shaped payloads, signed with the real algorithm, and common fixtures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.appointments import TherapistProfileFactory


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def calendly_body(
    *,
    event: str = "invitee.created",
    email: str = "member@example.com",
    host_uri: str = "https://api.calendly.com/users/HOST",
    invitee_uri: str | None = None,
    starts_at: datetime | None = None,
    created_at: datetime | None = None,
    rescheduled: bool = False,
    reason: str = "",
) -> dict:
    """A webhook body shaped like Calendly's v2 `invitee.created` / `invitee.canceled`."""
    event_uri = f"https://api.calendly.com/scheduled_events/{uuid.uuid4().hex.upper()}"
    invitee_uri = invitee_uri or f"{event_uri}/invitees/{uuid.uuid4().hex.upper()}"
    event_uri = invitee_uri.split("/invitees/")[0]
    starts_at = starts_at or (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    created_at = created_at or timezone.now()
    canceled = event == "invitee.canceled"
    return {
        "created_at": iso(created_at),
        "created_by": host_uri,
        "event": event,
        "payload": {
            "cancel_url": "https://calendly.com/cancellations/AAAA",
            "created_at": iso(created_at),
            "email": email,
            "event": event_uri,
            "name": "Maya Member",
            "new_invitee": None,
            "old_invitee": None,
            "reschedule_url": "https://calendly.com/reschedulings/AAAA",
            "rescheduled": rescheduled,
            "status": "canceled" if canceled else "active",
            "timezone": "America/New_York",
            "updated_at": iso(created_at),
            "uri": invitee_uri,
            "cancellation": {"canceled_by": "Maya Member", "reason": reason, "canceler_type": "invitee"}
            if canceled
            else None,
            "scheduled_event": {
                "uri": event_uri,
                "name": "50 minute session",
                "status": "canceled" if canceled else "active",
                "start_time": iso(starts_at),
                "end_time": iso(starts_at + timedelta(minutes=50)),
                "event_type": "https://api.calendly.com/event_types/SESSION",
                "location": {"type": "zoom", "status": "pushed", "join_url": "https://us02web.zoom.us/j/8123456789"},
                "event_memberships": [{"user": host_uri, "user_email": "therapist@bloom.test", "user_name": "T"}],
                "created_at": iso(created_at),
                "updated_at": iso(created_at),
            },
        },
    }


def sign(raw: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.CALENDLY_WEBHOOK_SIGNING_KEY if secret is None else secret
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_calendly(client, body: dict, **sign_kwargs):
    raw = json.dumps(body).encode()
    return client.post(
        "/webhooks/calendly/",
        data=raw,
        content_type="application/json",
        headers={"Calendly-Webhook-Signature": sign(raw, **sign_kwargs)},
    )


@pytest.fixture
def member(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffUserFactory(is_superuser=True)


@pytest.fixture
def therapist(db):
    return TherapistProfileFactory(calendly_user_uri="https://api.calendly.com/users/HOST", display_name="Dr. Ada Hart")
