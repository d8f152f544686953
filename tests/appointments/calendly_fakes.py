"""Calendly's API v2 at the HTTP boundary: a local server that answers like Calendly.

`GET /scheduled_events` (filtered by status and min_start_time, paginated with `count` and
`page_token`, `pagination.next_page_token` as Calendly sends it) and `GET
/scheduled_events/{uuid}/invitees`. The server checks the bearer token and records every
request. Failures are injected per path the way the network and Calendly produce them
(`FakeCalendly.fail(path_fragment, fault)`): "timeout" (never answers in time), "500", "429",
"401", "404", "malformed" (a body that is not JSON) and "no_collection" (JSON of the wrong
shape). `closed_port_url()` (from the Stripe fakes) is an address where nothing listens.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.appointments.conftest import iso

TOKEN = "calendly-test-token"
ORGANIZATION = "https://api.calendly.com/organizations/BLOOM"
HOST_URI = "https://api.calendly.com/users/HOST"


@dataclass
class FakeCalendly:
    base_url: str = ""
    events: list[dict] = field(default_factory=list)
    invitees: dict[str, list[dict]] = field(default_factory=dict)  # event uuid -> invitees
    requests: list[tuple[str, dict, str]] = field(default_factory=list)  # path, query, Authorization
    faults: dict[str, str] = field(default_factory=dict)  # path fragment -> fault
    hang_seconds: float = 3.0

    def fail(self, fragment: str, fault: str) -> None:
        self.faults[fragment] = fault

    def booking(
        self,
        *,
        email: str = "member@example.com",
        starts_at: datetime,
        status: str = "active",
        rescheduled: bool = False,
        minutes: int = 50,
    ) -> tuple[dict, dict]:
        """One scheduled event with one invitee, shaped like Calendly's resources."""
        event_uuid = uuid.uuid4().hex.upper()
        event_uri = f"https://api.calendly.com/scheduled_events/{event_uuid}"
        created = iso(starts_at - timedelta(days=5))
        canceled = status == "canceled"
        cancellation = (
            {
                "canceled_by": "Maya Member",
                "reason": "Something came up",
                "canceler_type": "invitee",
                "created_at": iso(starts_at - timedelta(days=1)),
            }
            if canceled
            else None
        )
        event = {
            "uri": event_uri,
            "name": "50 minute session",
            "status": status,
            "start_time": iso(starts_at),
            "end_time": iso(starts_at + timedelta(minutes=minutes)),
            "event_type": "https://api.calendly.com/event_types/SESSION",
            "location": {"type": "zoom", "status": "pushed", "join_url": "https://us02web.zoom.us/j/8123456789"},
            "invitees_counter": {"total": 1, "active": 0 if canceled else 1, "limit": 1},
            "created_at": created,
            "updated_at": created,
            "event_memberships": [{"user": HOST_URI, "user_email": "therapist@bloom.test", "user_name": "T"}],
            "event_guests": [],
            "cancellation": cancellation,
        }
        invitee = {
            "uri": f"{event_uri}/invitees/{uuid.uuid4().hex.upper()}",
            "email": email,
            "name": "Maya Member",
            "status": status,
            "timezone": "America/New_York",
            "event": event_uri,
            "created_at": created,
            "updated_at": cancellation["created_at"] if canceled else created,
            "tracking": {"utm_campaign": None, "utm_source": None, "utm_content": None},
            "cancel_url": f"https://calendly.com/cancellations/{event_uuid}",
            "reschedule_url": f"https://calendly.com/reschedulings/{event_uuid}",
            "rescheduled": rescheduled,
            "old_invitee": None,
            "new_invitee": None,
            "cancellation": cancellation,
            "questions_and_answers": [],
            "no_show": None,
        }
        self.events.append(event)
        self.invitees[event_uuid] = [invitee]
        return event, invitee

    # --- answering ----------------------------------------------------------------------------

    def answer(self, path: str, query: dict) -> tuple[int, object]:
        if path == "/scheduled_events":
            items = [e for e in self.events if e["status"] == query.get("status", e["status"])]
            if "min_start_time" in query:
                items = [e for e in items if e["start_time"] >= query["min_start_time"]]
        elif path.startswith("/scheduled_events/") and path.endswith("/invitees"):
            event_uuid = path.split("/")[2]
            if event_uuid not in self.invitees:
                return 404, {"title": "Resource Not Found", "message": "The server could not find the resource."}
            items = self.invitees[event_uuid]
        else:
            return 404, {"title": "Resource Not Found", "message": "The server could not find the resource."}
        count = int(query.get("count", 20))
        start = int(query.get("page_token") or 0)
        page = items[start : start + count]
        following = start + count if start + count < len(items) else None
        return 200, {
            "collection": page,
            "pagination": {
                "count": len(page),
                "next_page": None if following is None else f"{self.base_url}{path}?page_token={following}",
                "next_page_token": None if following is None else str(following),
                "previous_page": None,
                "previous_page_token": None,
            },
        }


def _handler(fake: FakeCalendly):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            parsed = urlparse(self.path)
            query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
            auth = self.headers.get("Authorization", "")
            fake.requests.append((parsed.path, query, auth))
            fault = next(
                (fault for fragment, fault in fake.faults.items() if fragment in f"{parsed.path}?{parsed.query}"), None
            )
            if fault == "timeout":
                time.sleep(fake.hang_seconds)
                return self._send(200, b'{"collection": [], "pagination": {}}')
            if fault in ("500", "429"):
                return self._send(int(fault), b'{"title": "Internal Server Error", "message": "try later"}')
            if fault == "malformed":
                return self._send(200, b"<html>Bad gateway</html>", "text/html")
            if fault == "no_collection":
                return self._send(200, b'{"resource": {}}')
            if fault == "401" or auth != f"Bearer {TOKEN}":
                return self._send(401, b'{"title": "Unauthenticated", "message": "The access token is invalid"}')
            if fault == "404":
                return self._send(404, b'{"title": "Resource Not Found", "message": "no such thing"}')
            status, body = fake.answer(parsed.path, query)
            return self._send(status, json.dumps(body).encode())

    return Handler


@contextmanager
def calendly_server():
    fake = FakeCalendly()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
