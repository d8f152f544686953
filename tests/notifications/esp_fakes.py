"""Postmark's email API faked at the HTTP boundary, for anymail's Postmark backend.

Answers are shaped like Postmark's (https://postmarkapp.com/developer/api/email-api and its
error codes): 200 with `MessageID` on success, 422 with `ErrorCode` 406 for an inactive
recipient, 401 with `ErrorCode` 10 for a bad server token, 429 when rate limited, 500 when
Postmark itself fails, and whatever a test sets for a malformed answer or a slow one.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER_TOKEN = "bloom-tests-postmark-server-token"


def accepted(to: str) -> tuple[int, dict]:
    return 200, {
        "To": to,
        "SubmittedAt": "2026-11-24T10:00:05.1794748-05:00",
        "MessageID": str(uuid.uuid4()),
        "ErrorCode": 0,
        "Message": "OK",
    }


def inactive_recipient(address: str) -> tuple[int, dict]:
    return 422, {
        "ErrorCode": 406,
        "Message": (
            "You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: "
            f"{address}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, "
            "or a manual suppression. "
        ),
    }


BAD_TOKEN = (
    401,
    {
        "ErrorCode": 10,
        "Message": "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
    },
)
RATE_LIMITED = (429, {"ErrorCode": 429, "Message": "Rate limit exceeded."})
SERVER_ERROR = (500, "Internal Server Error")
MALFORMED = (200, "<html><body>502 Bad Gateway</body></html>")


class FakePostmark:
    """Records every POST /email; `answer(request_json)` decides the (status, body) it gets."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer = lambda request: accepted(request["To"])
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_server_token"] = self.headers.get("X-Postmark-Server-Token")
                body["_path"] = self.path
                fake.requests.append(body)
                if fake.delay:
                    time.sleep(fake.delay)
                status, answer = fake.answer(body)
                if isinstance(answer, dict) and "MessageID" in answer:
                    body["_answered_id"] = answer["MessageID"]
                payload = answer if isinstance(answer, str) else json.dumps(answer)
                data = payload.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json" if isinstance(answer, dict) else "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
