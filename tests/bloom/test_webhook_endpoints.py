"""Every provider webhook answers as providers deliver: with or without the trailing slash,
never a redirect, and 503 (so the provider retries) when the event cannot be stored.

Deliveries are signed with each provider's real algorithm (Stripe and Calendly:
HMAC-SHA256 over "{t}.{body}"; Zoom: over "v0:{ts}:{body}"; the email provider through
anymail's basic auth).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from django.urls import reverse

from appointments.models import CalendlyWebhookEvent
from billing.models import StripeWebhookEvent
from bloom.webhooks import webhook_endpoint
from notifications.models import EmailSuppression
from tests.appointments.conftest import calendly_body
from tests.appointments.conftest import sign as calendly_sign
from tests.billing.stripe_fakes import event as stripe_event
from tests.billing.stripe_fakes import sign as stripe_sign
from tests.workshops.conftest import participant_event, zoom_headers
from workshops.models import ZoomWebhookEvent

ANYMAIL_SECRET = "hook:endpoint-tests"


@dataclass
class Delivery:
    path: str  # without the trailing slash
    body: bytes
    headers: dict = field(default_factory=dict)  # WSGI environ keys, as the test client takes them


def _basic(credentials: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def stripe_delivery(*, forged: bool = False) -> Delivery:
    from django.conf import settings

    body = json.dumps(stripe_event("customer.created", {"id": "cus_endpoint", "object": "customer"})).encode()
    secret = "whsec_not_the_secret" if forged else settings.STRIPE_WEBHOOK_SECRET
    return Delivery("/webhooks/stripe", body, {"HTTP_STRIPE_SIGNATURE": stripe_sign(body, secret)})


def calendly_delivery(*, forged: bool = False) -> Delivery:
    body = json.dumps(calendly_body(email="endpoint@example.com")).encode()
    signature = calendly_sign(body, secret="not-the-signing-key" if forged else None)
    return Delivery("/webhooks/calendly", body, {"HTTP_CALENDLY_WEBHOOK_SIGNATURE": signature})


def zoom_delivery(*, forged: bool = False) -> Delivery:
    payload = participant_event(
        "meeting.participant_joined", meeting_id="81234567890", email="endpoint@example.com", at="2026-11-24T18:04:00Z"
    )
    body = json.dumps(payload).encode()
    return Delivery("/webhooks/zoom", body, zoom_headers(body, secret="not-the-token" if forged else None))


def email_provider_delivery(*, forged: bool = False) -> Delivery:
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "ID": 42,
        "MessageID": "00000000-0000-0000-0000-000000000042",
        "Email": "bounced@example.com",
        "BouncedAt": "2026-11-24T10:00:00Z",
        "Description": "The server was unable to deliver your message",
    }
    credentials = "hook:wrong" if forged else ANYMAIL_SECRET
    return Delivery("/notifications/esp/postmark/tracking", json.dumps(bounce).encode(), _basic(credentials))


PROVIDERS = {
    "stripe": (stripe_delivery, lambda: StripeWebhookEvent.objects.count()),
    "calendly": (calendly_delivery, lambda: CalendlyWebhookEvent.objects.count()),
    "zoom": (zoom_delivery, lambda: ZoomWebhookEvent.objects.count()),
    "email-provider": (email_provider_delivery, lambda: EmailSuppression.objects.count()),
}


@pytest.fixture(autouse=True)
def _anymail_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ANYMAIL_SECRET}


def _post(client, delivery: Delivery, *, slash: bool):
    path = delivery.path + ("/" if slash else "")
    return client.post(path, data=delivery.body, content_type="application/json", **delivery.headers)


@pytest.mark.django_db
@pytest.mark.parametrize("slash", [True, False], ids=["with-slash", "without-slash"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_genuine_delivery_is_stored_with_or_without_the_slash(client, provider, slash):
    make, stored = PROVIDERS[provider]
    response = _post(client, make(), slash=slash)
    assert response.status_code == 200, response.content
    assert stored() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("slash", [True, False], ids=["with-slash", "without-slash"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_forged_delivery_is_refused_with_or_without_the_slash(client, provider, slash):
    make, stored = PROVIDERS[provider]
    response = _post(client, make(forged=True), slash=slash)
    # anymail answers a wrong basic-auth password 400 (AnymailWebhookValidationFailure).
    assert response.status_code == 400, response.content
    assert stored() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_webhook_url_redirects_any_method(client, provider):
    make, _ = PROVIDERS[provider]
    for slash in (True, False):
        path = make().path + ("/" if slash else "")
        for method in (client.get, client.put, client.head):
            status = method(path).status_code
            assert not 300 <= status < 400, (path, method.__name__, status)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post_without_a_database(deliveries: dict[str, Delivery]) -> dict[str, dict]:
    """POST each delivery, with and without the slash, in a fresh process whose database
    URL points at a port nothing listens on (no mock: psycopg's connection is refused)."""
    requests = {name: {"path": d.path, "body": d.body.decode(), "headers": d.headers} for name, d in deliveries.items()}
    script = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
results = {}
for name, request in json.loads(sys.stdin.read()).items():
    for suffix in ("/", ""):
        response = client.post(
            request["path"] + suffix, data=request["body"].encode(), content_type="application/json",
            **request["headers"],
        )
        results[name + suffix] = {"status": response.status_code, "retry_after": response.get("Retry-After")}
print(json.dumps(results))
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bloom.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_closed_port()}/nowhere",
        "ANYMAIL_WEBHOOK_SECRET": ANYMAIL_SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(requests),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_database_unreachable_answers_503_for_every_provider():
    results = _post_without_a_database({name: make() for name, (make, _) in PROVIDERS.items()})
    assert results == {
        f"{name}{suffix}": {"status": 503, "retry_after": "60"} for name in PROVIDERS for suffix in ("/", "")
    }


def test_forged_delivery_without_a_database_is_never_a_500():
    """A forged delivery stores nothing either way. Stripe, Calendly and Zoom write the
    refusal to security events first, which needs the database, so they answer 503;
    anymail refuses a wrong password before touching the database, so it answers 400."""
    results = _post_without_a_database({name: make(forged=True) for name, (make, _) in PROVIDERS.items()})
    expected = dict.fromkeys(("stripe", "calendly", "zoom"), 503) | {"email-provider": 400}
    assert {key: value["status"] for key, value in results.items()} == {
        f"{name}{suffix}": status for name, status in expected.items() for suffix in ("/", "")
    }


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("connection to server at 127.0.0.1 failed: Connection refused"),
        OperationalError("FATAL: sorry, too many clients already"),
        InterfaceError("connection already closed"),
    ],
    ids=["refused", "too-many-clients", "connection-closed"],
)
def test_webhook_endpoint_turns_a_database_failure_into_503(failure, caplog):
    calls = []

    @webhook_endpoint
    def view(request):
        calls.append(request)
        raise failure

    response = view(RequestFactory().post("/webhooks/example", data=b"{}", content_type="application/json"))
    assert (response.status_code, response["Retry-After"]) == (503, "60")
    assert len(calls) == 1
    assert "database unavailable" in caplog.text
    assert webhook_endpoint(view) is view
    assert view.csrf_exempt is True and view.login_required is False


def _anymail_webhook_paths() -> list[str]:
    import anymail.urls

    return [reverse(f"notifications:anymail:{pattern.name}") for pattern in anymail.urls.urlpatterns]


@pytest.mark.django_db
@pytest.mark.parametrize("slash", [True, False], ids=["with-slash", "without-slash"])
def test_every_mounted_email_provider_webhook_refuses_or_defers_an_unsigned_post(client, slash):
    """anymail mounts every ESP's webhooks; those this deployment has no key or package for
    (Mailgun, Mandrill, Amazon SES without boto3, ...) raise ImproperlyConfigured per request.
    An anonymous POST to any of them is refused (400) or deferred (503), never a 500."""
    paths = _anymail_webhook_paths()
    assert len(paths) > 20 and "/notifications/esp/postmark/tracking/" in paths
    answers = {}
    for path in paths:
        path = path if slash else path.rstrip("/")
        answers[path] = client.post(path, data=b"{}", content_type="application/json").status_code
    assert set(answers.values()) <= {400, 503}, answers
    assert answers["/notifications/esp/mailgun/tracking" + ("/" if slash else "")] == 503
    assert answers["/notifications/esp/postmark/tracking" + ("/" if slash else "")] == 400


def test_webhook_endpoint_turns_missing_configuration_into_503(caplog):
    @webhook_endpoint
    def view(request):
        raise ImproperlyConfigured("You must set ANYMAIL = {'MAILGUN_WEBHOOK_SIGNING_KEY': ...}")

    response = view(RequestFactory().post("/webhooks/example", data=b"{}", content_type="application/json"))
    assert (response.status_code, response["Retry-After"]) == (503, "60")
    assert "not configured" in caplog.text and "MAILGUN_WEBHOOK_SIGNING_KEY" in caplog.text
