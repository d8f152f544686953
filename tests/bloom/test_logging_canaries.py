"""No personal or health data in any log line (docs/adr/0152).

Canary values — a member's name, her email, a session-note sentence, a wellness note — go
through sign-up and email confirmation, a Calendly booking webhook, a session note, an urgent
screening, a flagged wellness check-in, a Stripe checkout paid by webhook and the outbox drain
that mails all of it. Every logger is captured at DEBUG through the production JSON formatter
(and as raw records, before the formatter's email scrub), with stdout and stderr; none of the
canaries may appear anywhere.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from accounts.models import RiskAlert, RiskSource, User
from appointments import services as appointment_services
from appointments.models import AppointmentData, CalendlyWebhookEvent
from appointments.tasks import calendly_event_process_task
from billing.models import PaymentIntent, PaymentStatus
from bloom.logging import json_formatter
from notifications.drain import email_queue_drain
from notifications.models import EmailQueue
from tests.accounts.helpers import CONFIRM_URL, signup_data
from tests.appointments.conftest import calendly_body, post_calendly
from tests.billing import stripe_fakes as sf
from tests.billing.conftest import deliver, eager_celery, fake_stripe, purchases  # noqa: F401 (fixtures)
from tests.billing.test_services_checkout import _start as checkout_start_for_test_purchase
from tests.factories.accounts import StaffUserFactory
from tests.factories.appointments import TherapistProfileFactory

FIRST, LAST = "Quillonia", "Marchbanks-Zephyr"
EMAIL = "quillonia.canary@example.org"
NOTE = "She described the lighthouse dream again and the fear of the stairwell."
WELLNESS = "Beside the copper kettle at night I keep having intrusive thoughts about my baby"
pytestmark = pytest.mark.django_db

CANARIES = [FIRST, "Marchbanks", EMAIL, "quillonia.canary", "lighthouse dream", "stairwell", "copper kettle"]


# factory_boy logs the values the test itself passes to factories; it never runs in Bloom.
TEST_TOOLING = ("factory",)


class _RawRecords(logging.Handler):
    """Each record's message, arguments and exception text, before any formatter touches it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(TEST_TOOLING):
            return
        text = [record.getMessage(), repr(record.args)]
        if record.exc_info:
            text.append(logging.Formatter().formatException(record.exc_info))
        self.texts.append(" ".join(text))


@pytest.fixture
def all_logs():
    """Every logger at DEBUG into the production JSON formatter and a raw-record list."""
    stream = io.StringIO()
    formatted = logging.StreamHandler(stream)
    formatted.setLevel(logging.DEBUG)
    formatted.setFormatter(json_formatter())
    formatted.addFilter(lambda record: not record.name.startswith(TEST_TOOLING))
    raw = _RawRecords()
    manager = logging.root.manager
    loggers = [logging.root] + [item for item in manager.loggerDict.values() if isinstance(item, logging.Logger)]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if logger is logging.root or not logger.propagate:
            logger.addHandler(formatted)
            logger.addHandler(raw)
    manager._clear_cache()
    yield stream, raw
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled
        for handler in (formatted, raw):
            if handler in logger.handlers:
                logger.removeHandler(handler)
    manager._clear_cache()


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [canary for canary in CANARIES if canary.lower() in lowered]


@pytest.mark.timeout(600)
def test_no_canary_reaches_any_log_line_across_the_member_flows(
    client,
    settings,
    all_logs,
    capfd,
    fake_stripe,  # noqa: F811
    purchases,  # noqa: F811
    deliver,  # noqa: F811
):
    settings.BILLING_DJSTRIPE_MIRROR = False
    settings.BILLING_DRAIN_LINGER_SECONDS = 0
    stream, raw = all_logs

    # Sign-up and confirming the address.
    response = client.post(reverse("account_signup"), signup_data(EMAIL))
    assert response.status_code == 302
    member = User.objects.get(email=EMAIL)
    [path] = [
        match.group(1)
        for body in EmailQueue.objects.filter(to_email=EMAIL).values_list("text_body", flat=True)
        if (match := CONFIRM_URL.search(body))
    ]
    assert client.post(path).status_code == 302
    assert EmailAddress.objects.get(user=member).verified
    member.first_name, member.last_name = FIRST, LAST
    member.save()
    profile = member.profile
    profile.first_name, profile.last_name, profile.preferred_name = FIRST, LAST, FIRST
    profile.stage, profile.baby_birth_date = "postpartum", timezone.localdate() - timedelta(weeks=6, days=1)
    profile.save()

    # A booking webhook from Calendly, processed as the worker would.
    therapist = TherapistProfileFactory(calendly_user_uri="https://api.calendly.com/users/HOST", display_name="Dr. T")
    body = calendly_body(email=EMAIL)
    body["payload"]["name"] = f"{FIRST} {LAST}"
    body["payload"]["first_name"], body["payload"]["last_name"] = FIRST, LAST
    assert post_calendly(client, body).status_code == 200
    calendly_event_process_task.apply(args=[str(CalendlyWebhookEvent.objects.get().pk)])
    appointment = AppointmentData.objects.get(user=member)
    assert appointment.therapist == therapist

    # A session note by her therapist.
    staff = StaffUserFactory(is_superuser=True)
    appointment_services.session_note_write(appointment=appointment, author=staff, body=NOTE)

    # An urgent screening (item 10) and a flagged wellness check-in, through the member's pages.
    client.force_login(member)
    answers = {1: 0, 2: 0, 3: 3, 4: 0, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 2}
    response = client.post(
        reverse("accounts:screening_take", args=["epds"]), {f"q{n}": str(p) for n, p in answers.items()}
    )
    assert response.status_code == 302
    response = client.post(reverse("accounts:wellness"), {"mood": 2, "notes": WELLNESS})
    assert response.status_code == 302
    sources = sorted(RiskAlert.objects.filter(user=member).values_list("source", flat=True))
    assert sources == [RiskSource.SCREENING, RiskSource.WELLNESS_NOTE]

    # A payment: checkout at (fake) Stripe, paid by the signed webhook.
    start = checkout_start_for_test_purchase(member)
    assert deliver(sf.event("checkout.session.completed", sf.checkout_session_obj(start.payment))).status_code == 200
    assert PaymentIntent.objects.get(pk=start.payment.pk).status == PaymentStatus.SUCCEEDED

    # The outbox drain sends everything the flows queued (locmem backend).
    result = email_queue_drain()
    assert result.sent >= 3

    output = stream.getvalue()
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    # The capture saw each flow's request lines (how many other lines there are depends on what
    # earlier tests left configured, so the check is per flow, not a count).
    routes = {record.get("route") for record in records if record.get("logger") == "bloom.request"}
    flows = {
        "/accounts/signup/",
        "/webhooks/calendly/",
        "/screening/take/<slug:instrument>/",
        "/wellness/",
        "/webhooks/stripe/",
    }
    assert flows <= routes, sorted(r for r in routes if r)
    captured = capfd.readouterr()
    assert _leaks(output) == [], [line for line in output.splitlines() if _leaks(line)][:5]
    assert _leaks(" ".join(raw.texts)) == [], [text for text in raw.texts if _leaks(text)][:5]
    assert _leaks(captured.out + captured.err) == []
