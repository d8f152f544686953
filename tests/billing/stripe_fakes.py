"""Stripe at the HTTP boundary: a local fake API server, signed webhook payloads, Stripe-shaped objects.

The `stripe` library talks HTTP through `requests` (its RequestsClient) to `stripe.api_base`;
billing.stripe_client points that at `settings.STRIPE_API_BASE`, so tests set it to this
server. The server answers like Stripe (JSON objects, 402 card errors, idempotent replays
keyed by the Idempotency-Key header) and records every request.

Failures are injected the way the network and Stripe produce them (`FakeStripe.fail`):
a server that never answers (`timeout`, or `timeout_after_processing`: Stripe acted, the
answer never came), 500, 429, 400 invalid_request_error, 402 card_error, and a body that is
not JSON (`malformed`, sent after acting). `closed_port_url()` is an address where nothing
listens (connection refused). Every error text the fake sent is kept in `sent_messages`, so
tests can assert none of it reached a member.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

from billing.models import PaymentIntent

API_VERSION = "2024-06-20"
_seq = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


# Failures that happen before Stripe acts (nothing is stored for the idempotency key) and
# after it acted (the replay of the key returns what was done).
FAULTS_BEFORE = ("timeout", "500", "429", "400", "402")
FAULTS_AFTER = ("timeout_after_processing", "malformed")
FAULTS = FAULTS_BEFORE + FAULTS_AFTER
# What the stripe library itself says about network failures and unreadable answers.
LIBRARY_TEXTS = (
    "Unexpected error communicating with Stripe",
    "Network error",
    "ConnectionError",
    "ReadTimeout",
    "Invalid response body from API",
    "support@stripe.com",
    "Request req_",
)
HANG = object()  # the server never answers this request


def closed_port_url() -> str:
    """An http address on loopback where nothing listens: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Call:
    method: str
    path: str
    params: dict
    idempotency_key: str | None
    fault: str | None = None


@dataclass
class FakeStripe:
    """Behaviour switches: `next_payment_intent_error` (a Stripe error code for the next
    PaymentIntent create), `refund_status` for created refunds, `events` for Event.list,
    and `fail(...)` for network and server failures."""

    calls: list[Call] = field(default_factory=list)
    idempotent: dict[str, tuple[int, dict]] = field(default_factory=dict)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    next_payment_intent_error: str | None = None
    refund_status: str = "succeeded"
    events: list[dict] = field(default_factory=list)
    url: str = ""
    fault: str | None = None
    fault_path: str = ""
    fault_times: int | None = None
    decline_code: str | None = None
    hang_seconds: float = 2.0
    sent_messages: set[str] = field(default_factory=set)

    def creates(self, path_prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.startswith(path_prefix)]

    def fail(self, fault: str | None, *, path: str = "", times: int | None = None, decline_code: str | None = None):
        """Answer requests whose path starts with `path` with `fault` (one of FAULTS), `times`
        times or until `fail(None)`. A 402 carries `decline_code` when given."""
        assert fault is None or fault in FAULTS, fault
        self.fault, self.fault_path, self.fault_times, self.decline_code = fault, path, times, decline_code

    def _take_fault(self, path: str) -> str | None:
        if self.fault is None or not path.startswith(self.fault_path):
            return None
        fault = self.fault
        if self.fault_times is not None:
            self.fault_times -= 1
            if self.fault_times <= 0:
                self.fault = None
        return fault

    def handle(self, method: str, path: str, params: dict, idempotency_key: str | None):
        """(status, JSON-able body or raw bytes), or HANG for a request the server never answers."""
        fault = self._take_fault(path)
        self.calls.append(Call(method, path, params, idempotency_key, fault))
        if fault in FAULTS_BEFORE:
            return self._failure(fault)
        if method == "POST" and idempotency_key and idempotency_key in self.idempotent:
            status, body = self.idempotent[idempotency_key]
        else:
            status, body = self._route(method, path, params)
            if method == "POST" and idempotency_key:
                self.idempotent[idempotency_key] = (status, body)
        if fault == "timeout_after_processing":
            return HANG
        if fault == "malformed":
            return 200, b'{"id": "pi_3Nq\x00<html>502 Bad Gateway'
        return status, body

    def _failure(self, fault: str):
        if fault == "timeout":
            return HANG
        if fault == "500":
            body = _error("api_error", "", "An unknown error occurred (fake Stripe 7731).")
            return 500, body
        if fault == "429":
            body = _error("invalid_request_error", "rate_limit", "Request rate limit exceeded (fake Stripe 4291).")
            return 429, body
        if fault == "400":
            body = _error(
                "invalid_request_error", "parameter_invalid_integer", "Invalid integer: x (fake Stripe 4001)."
            )
            return 400, body
        body = _error("card_error", "card_declined", "Your card was declined (fake Stripe 4021).")
        if self.decline_code:
            body["error"]["decline_code"] = self.decline_code
        return 402, body

    def note_message(self, body) -> None:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            self.sent_messages.add(body["error"].get("message") or "")

    def provider_texts(self) -> list[str]:
        """Every text Stripe (this fake) or the stripe library may have produced for an error."""
        return [m for m in self.sent_messages if m] + list(LIBRARY_TEXTS)

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        now = int(time.time())
        metadata = {k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")}
        if parts == ["checkout", "sessions"] and method == "POST":
            session_id = _id("cs_test")
            return 200, {
                "id": session_id,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "mode": "payment",
                "amount_total": int(params.get("line_items[0][price_data][unit_amount]", 0)),
                "metadata": metadata,
                "created": now,
            }
        if parts == ["customers"] and method == "POST":
            return 200, {"id": _id("cus"), "object": "customer", "email": params.get("email"), "metadata": metadata}
        if parts == ["setup_intents"] and method == "POST":
            seti = _id("seti")
            return 200, {
                "id": seti,
                "object": "setup_intent",
                "client_secret": f"{seti}_secret_{uuid.uuid4().hex[:8]}",
                "customer": params.get("customer"),
                "status": "requires_payment_method",
                "usage": "off_session",
                "metadata": metadata,
            }
        if parts == ["payment_intents"] and method == "POST":
            return self._payment_intent_create(params, metadata, now)
        if len(parts) >= 2 and parts[0] == "payment_intents":
            intent = self.payment_intents.get(parts[1])
            if intent is None:
                return 404, _error("invalid_request_error", "resource_missing", "No such payment_intent")
            if len(parts) == 2 and method == "GET":
                return 200, intent
            if parts[2:] == ["capture"]:
                amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
                intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
                return 200, dict(intent)
            if parts[2:] == ["cancel"]:
                intent.update(status="canceled", amount_capturable=0, canceled_at=now)
                return 200, dict(intent)
        if parts == ["refunds"] and method == "POST":
            return 200, {
                "id": _id("re"),
                "object": "refund",
                "amount": int(params["amount"]),
                "currency": "usd",
                "payment_intent": params.get("payment_intent"),
                "charge": None,
                "status": self.refund_status,
                "reason": None,
                "metadata": metadata,
                "created": now,
            }
        if len(parts) == 3 and parts[0] == "payment_methods" and parts[2] == "detach":
            return 200, payment_method_obj(pm_id=parts[1], customer=None)
        if parts == ["events"] and method == "GET":
            gte = int(params.get("created[gte]", 0))
            data = [e for e in self.events if e["created"] >= gte]
            data.sort(key=lambda e: e["created"], reverse=True)
            if params.get("starting_after"):
                ids = [e["id"] for e in data]
                data = data[ids.index(params["starting_after"]) + 1 :]
            limit = int(params.get("limit", 10))
            return 200, {"object": "list", "url": "/v1/events", "data": data[:limit], "has_more": len(data) > limit}
        return 404, _error("invalid_request_error", "resource_missing", f"Unrecognized request URL ({method} {path})")

    def _payment_intent_create(self, params: dict, metadata: dict, now: int) -> tuple[int, dict]:
        manual = params.get("capture_method") == "manual"
        amount = int(params["amount"])
        intent = {
            "id": _id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": amount if manual else 0,
            "amount_received": 0 if manual else amount,
            "currency": params.get("currency", "usd"),
            "customer": params.get("customer"),
            "payment_method": params.get("payment_method"),
            "capture_method": params.get("capture_method", "automatic"),
            "client_secret": f"pi_secret_{uuid.uuid4().hex[:12]}",
            "status": "requires_capture" if manual else "succeeded",
            "latest_charge": None if manual else _id("ch"),
            "metadata": metadata,
            "created": now,
        }
        error = self.next_payment_intent_error
        self.next_payment_intent_error = None
        if error:
            intent.update(status="requires_action" if error == "authentication_required" else "requires_payment_method")
            intent.update(amount_capturable=0, amount_received=0, latest_charge=None)
            self.payment_intents[intent["id"]] = intent
            body = _error(
                "card_error",
                error,
                "Your card was declined."
                if error != "authentication_required"
                else "This payment requires authentication.",
            )
            body["error"]["payment_intent"] = intent
            return 402, body
        self.payment_intents[intent["id"]] = intent
        return 200, dict(intent)


def _error(kind: str, code: str, message: str) -> dict:
    return {"error": {"type": kind, "code": code, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe

    def _answer(self, method: str) -> None:
        parsed = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = dict(parse_qsl(body if method == "POST" else parsed.query, keep_blank_values=True))
        fake = self.server.fake
        answer = fake.handle(method, parsed.path, params, self.headers.get("Idempotency-Key"))
        if answer is HANG:
            time.sleep(fake.hang_seconds)  # past the client's read timeout; then hang up
            self.close_connection = True
            return
        status, payload = answer
        fake.note_message(payload)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", f"req_{next(_seq)}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server naming
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")

    def do_DELETE(self):  # noqa: N802
        self._answer("DELETE")

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that timed out and hung up before the answer is what the fault asked for.
        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)


class FakeStripeServer:
    def __init__(self) -> None:
        self.fake = FakeStripe()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self.fake
        self.fake.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- signed webhooks -------------------------------------------------------------------------


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header made with Stripe's algorithm: HMAC-SHA256 over "{t}.{body}"."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(event_type: str, obj: dict, *, created: int | None = None, previous_attributes: dict | None = None) -> dict:
    data = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": data,
    }


def _meta(payment: PaymentIntent) -> dict:
    return {"bloom_payment_id": str(payment.pk), "bloom_kind": payment.kind, "bloom_object_id": payment.object_id}


def checkout_session_obj(payment: PaymentIntent, *, payment_status: str = "paid", pi_id: str | None = None) -> dict:
    return {
        "id": payment.stripe_checkout_session_id or _id("cs_test"),
        "object": "checkout.session",
        "mode": "payment",
        "amount_total": payment.amount_cents,
        "currency": payment.currency,
        "client_reference_id": str(payment.pk),
        "payment_intent": pi_id or payment.stripe_payment_intent_id or _id("pi"),
        "payment_status": payment_status,
        "status": "complete" if payment_status != "unpaid" else "complete",
        "metadata": _meta(payment),
    }


def payment_intent_obj(
    payment: PaymentIntent,
    *,
    status: str,
    pi_id: str | None = None,
    amount_received: int | None = None,
    error_code: str | None = None,
    charge_id: str | None = None,
) -> dict:
    obj = {
        "id": pi_id or payment.stripe_payment_intent_id or _id("pi"),
        "object": "payment_intent",
        "amount": payment.amount_cents,
        "amount_received": payment.amount_cents
        if amount_received is None and status == "succeeded"
        else (amount_received or 0),
        "amount_capturable": payment.amount_cents if status == "requires_capture" else 0,
        "currency": payment.currency,
        "status": status,
        "latest_charge": charge_id or (payment.stripe_charge_id if status == "succeeded" else None),
        "metadata": _meta(payment),
        "last_payment_error": None,
    }
    if error_code:
        obj["last_payment_error"] = {"type": "card_error", "code": error_code, "message": f"Card error: {error_code}"}
    return obj


def refund_obj(
    payment: PaymentIntent,
    *,
    amount: int,
    status: str = "succeeded",
    refund_id: str | None = None,
    metadata: dict | None = None,
) -> dict:
    return {
        "id": refund_id or _id("re"),
        "object": "refund",
        "amount": amount,
        "currency": payment.currency,
        "payment_intent": payment.stripe_payment_intent_id,
        "charge": payment.stripe_charge_id,
        "status": status,
        "reason": "requested_by_customer",
        "metadata": metadata or {},
    }


def charge_obj(payment: PaymentIntent, *, amount_refunded: int, refunds: list[dict] | None = None) -> dict:
    obj = {
        "id": payment.stripe_charge_id or _id("ch"),
        "object": "charge",
        "amount": payment.amount_cents,
        "amount_refunded": amount_refunded,
        "currency": payment.currency,
        "paid": True,
        "captured": True,
        "status": "succeeded",
        "refunded": amount_refunded >= payment.amount_cents,
        "payment_intent": payment.stripe_payment_intent_id,
        "metadata": {},
    }
    if refunds is not None:
        obj["refunds"] = {"object": "list", "data": refunds, "has_more": False}
    return obj


def dispute_obj(payment: PaymentIntent) -> dict:
    return {
        "id": _id("dp"),
        "object": "dispute",
        "amount": payment.amount_cents,
        "currency": payment.currency,
        "charge": payment.stripe_charge_id,
        "payment_intent": payment.stripe_payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }


def payment_method_obj(*, pm_id: str | None = None, customer: str | None, last4: str = "4242") -> dict:
    return {
        "id": pm_id or _id("pm"),
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "card": {"brand": "visa", "last4": last4, "exp_month": 12, "exp_year": 2031},
    }


def setup_intent_obj(*, customer: str, pm_id: str) -> dict:
    return {
        "id": _id("seti"),
        "object": "setup_intent",
        "customer": customer,
        "payment_method": pm_id,
        "status": "succeeded",
        "usage": "off_session",
    }


# --- breaking Stripe on purpose ------------------------------------------------------------

# Each way a call to Stripe can go wrong, as the tests name them: a refused connection, no
# answer in time, 500, 429, 400 invalid_request_error, 402 card_error, an unreadable body.
FAILURES = ("refused", "timeout", "500", "429", "400", "402", "malformed")
# The ones after which Bloom cannot know whether Stripe acted.
UNKNOWN_FAILURES = tuple(f for f in FAILURES if f != "402")
# Client settings for tests: short enough to keep timeout tests quick, long enough for a
# loaded machine to answer a normal request. The fake hangs past the read timeout.
TEST_CONNECT_TIMEOUT = 1.0
TEST_READ_TIMEOUT = 1.5
TEST_HANG_SECONDS = 2.5


@contextmanager
def running_fake_stripe(settings):
    """A fake Stripe server with the stripe client pointed at it (for each test directory's fixture)."""
    with FakeStripeServer() as fake:
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_CONNECT_TIMEOUT_SECONDS = TEST_CONNECT_TIMEOUT
        settings.STRIPE_READ_TIMEOUT_SECONDS = TEST_READ_TIMEOUT
        fake.hang_seconds = TEST_HANG_SECONDS
        yield fake


def stripe_breaks(fake: FakeStripe, settings, failure: str, *, path: str = "", decline_code: str | None = None):
    """From now on, Stripe calls (under `path`) fail as `failure` (one of FAILURES, or a fault
    of FAULTS such as "timeout_after_processing") says."""
    assert failure in FAILURES or failure in FAULTS, failure
    if failure == "refused":
        settings.STRIPE_API_BASE = closed_port_url()
    else:
        fake.fail(failure, path=path, decline_code=decline_code)


def stripe_mends(fake: FakeStripe, settings) -> None:
    settings.STRIPE_API_BASE = fake.url
    fake.fail(None)


def assert_no_provider_text(fake: FakeStripe, *texts: str) -> None:
    """None of Stripe's (or the stripe library's) error texts appears in `texts`."""
    for text in texts:
        for needle in fake.provider_texts():
            assert needle not in text, f"provider text {needle!r} leaked into {text[:300]!r}"


def queued_email_texts() -> list[str]:
    """Subject and bodies of every row in the outbox (email_queue)."""
    from notifications.models import EmailQueue

    return [
        f"{row.subject}\n{row.text_body}\n{row.html_body}"
        for row in EmailQueue.objects.only("subject", "text_body", "html_body")
    ]
