"""Stripe failing at the HTTP boundary, path by path: card add, authorise, capture, release, refund.

Each failure is produced by the fake server (or a closed port) and goes through the real
stripe library: refused connection, no answer in time, 500, 429, 400, 402 and a body that
is not JSON. A 402 card error is a definite no; every other failure leaves the outcome
unknown: a check with Stripe is opened, the member is told nothing, the same request is
sent again with the same idempotency key, and the answer, a webhook or `stripe_reconcile`
settles it. Course, workshop and fee checkouts are in tests/courses, tests/workshops and
tests/appointments (test_*_failures.py).
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing import selectors, services, stripe_client, tasks
from billing.models import (
    STRIPE_CHECK_RETRY_DELAYS,
    BillingCustomer,
    PaymentIntent,
    PaymentStatus,
    RefundRequest,
    RefundStatus,
    StripeCheck,
    StripeCheckOperation,
)
from bloom.exceptions import ApplicationError
from notifications.models import EmailQueue, UserNotification
from tests.billing import stripe_fakes as sf
from tests.billing.stripe_fakes import FAILURES, UNKNOWN_FAILURES, stripe_breaks, stripe_mends
from tests.factories.accounts import StaffUserFactory, UserFactory
from tests.factories.billing import BillingCustomerFactory, PaymentIntentFactory, UserPaymentMethodFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_with_card():
    customer = BillingCustomerFactory()
    UserPaymentMethodFactory(user=customer.user)
    return customer.user


def _authorize(member, object_id="appt-1"):
    return services.payment_authorize(
        member=member,
        kind="test_purchase",
        object_id=object_id,
        amount=Decimal("150.00"),
        charge_date=timezone.now() + timedelta(days=2),
        description="Therapy session",
    )


def _due(check: StripeCheck) -> None:
    StripeCheck.objects.filter(pk=check.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def _retry(check: StripeCheck) -> str:
    """What the beat sweeper does once the check is due: the retry task for it."""
    _due(check)
    return tasks.stripe_check_run_task(str(check.pk))


def _told_member(member) -> tuple[list, list]:
    notices = list(UserNotification.objects.filter(user=member).values_list("type", flat=True))
    mails = list(EmailQueue.objects.filter(to_email=member.email).values_list("subject", flat=True))
    return notices, mails


def _assert_silent_about(member, fake) -> None:
    """The member got no notice or email, and no outbox row carries Stripe's words."""
    assert _told_member(member) == ([], [])
    sf.assert_no_provider_text(fake, *sf.queued_email_texts())


# --- the client: settings, error kinds, ids -------------------------------------------------


def test_client_timeouts_and_library_retries_bound_a_call_in_a_web_request(fake_stripe):
    stripe = stripe_client._stripe()
    assert stripe.max_network_retries == stripe_client.MAX_NETWORK_RETRIES == 1
    assert stripe.default_http_client._timeout == (sf.TEST_CONNECT_TIMEOUT, sf.TEST_READ_TIMEOUT)
    # Production defaults: two tries of at most 8 s reading (plus about a second of backoff)
    # stay under gunicorn's 30 s worker timeout.
    worst = (1 + stripe_client.MAX_NETWORK_RETRIES) * (
        stripe_client.CONNECT_TIMEOUT_SECONDS + stripe_client.READ_TIMEOUT_SECONDS
    )
    assert worst + 2 < 30


def test_a_server_that_never_answers_is_an_unknown_outcome_after_the_read_timeout(fake_stripe):
    fake_stripe.fail("timeout")
    started = time.monotonic()
    with pytest.raises(stripe_client.StripeOutcomeUnknown) as caught:
        stripe_client.customer_create(idempotency_key="bloom-customer-x", email="a@b.c", name="A", metadata={})
    elapsed = time.monotonic() - started
    tries = [c for c in fake_stripe.calls if c.path == "/v1/customers"]
    assert [c.idempotency_key for c in tries] == ["bloom-customer-x", "bloom-customer-x"]  # one library retry
    assert elapsed < 2 * sf.TEST_READ_TIMEOUT + 3
    assert "ReadTimeout" in caught.value.message  # kept for staff, never shown to members


@pytest.mark.parametrize("failure", FAILURES)
def test_each_failure_maps_to_a_definite_no_or_an_unknown_outcome(fake_stripe, settings, failure):
    stripe_breaks(fake_stripe, settings, failure)
    expected = stripe_client.StripeCardError if failure == "402" else stripe_client.StripeOutcomeUnknown
    with pytest.raises(expected):
        stripe_client.refund_create(
            idempotency_key="bloom-refund-x", payment_intent_id="pi_x", amount_cents=1, metadata={}
        )


def test_an_answer_of_the_wrong_shape_is_an_unknown_outcome(fake_stripe):
    original = fake_stripe.handle

    def handle(method, path, params, key):
        if path == "/v1/customers":
            return 200, {"object": "list", "data": []}
        return original(method, path, params, key)

    fake_stripe.handle = handle
    with pytest.raises(stripe_client.StripeOutcomeUnknown, match="not a customer"):
        stripe_client.customer_create(idempotency_key="k", email="a@b.c", name="A", metadata={})


@pytest.mark.parametrize(
    ("value", "prefix", "expected"),
    [
        ("ch_3NxYz12", "ch", "ch_3NxYz12"),
        ({"id": "ch_3NxYz12", "object": "charge", "amount_captured": 500}, "ch", "ch_3NxYz12"),
        ({"object": "charge"}, "ch", None),
        ("{'id': 'ch_1', 'object': 'charge'}", None, None),  # an expanded object turned into text
        ("pi_123", "ch", None),
        (12345, None, None),
        (None, None, None),
        ("", None, None),
        (["ch_1"], None, None),
        ("cs_test_a1B2", "cs", "cs_test_a1B2"),
    ],
)
def test_only_ids_are_taken_from_expandable_fields(value, prefix, expected):
    assert stripe_client.object_id(value, prefix) == expected


@pytest.mark.parametrize(
    ("intent", "asked", "expected"),
    [
        ({"amount_received": 5000}, 6000, Decimal("50.00")),
        ({"amount_received": 0, "latest_charge": {"id": "ch_1", "amount_captured": 4200}}, 6000, Decimal("42.00")),
        ({"latest_charge": "ch_1"}, 6000, Decimal("60.00")),
        ({}, None, None),
        ({"amount_received": "5000"}, 3000, Decimal("30.00")),
    ],
)
def test_captured_amount_is_what_stripe_says_else_what_bloom_asked(intent, asked, expected):
    assert services.stripe_captured_amount(intent, asked) == expected


# --- card add (member page) ------------------------------------------------------------------


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("step", ["/v1/customers", "/v1/setup_intents"])
def test_card_add_failing_says_so_kindly_and_saves_nothing(client, fake_stripe, settings, failure, step):
    member = UserFactory()
    if step == "/v1/setup_intents":
        BillingCustomerFactory(user=member)
    customers_before = BillingCustomer.objects.count()
    client.force_login(member)
    stripe_breaks(fake_stripe, settings, failure, path=step)

    response = client.get(reverse("billing:card_add"), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("billing:billing_home"), 302)]
    page = response.content.decode()
    assert "We couldn&#x27;t reach our payment provider, so no card was added and nothing was charged." in page
    assert 'href="/billing/cards/add/"' in page  # the way to try again
    sf.assert_no_provider_text(fake_stripe, page)
    assert BillingCustomer.objects.count() == customers_before
    assert not member.payment_methods.exists()

    stripe_mends(fake_stripe, settings)
    again = client.get(reverse("billing:card_add"))
    assert again.status_code == 200 and b"_secret_" in again.content
    # The customer a lost answer may have created is found again under the same key.
    customer_keys = {c.idempotency_key for c in fake_stripe.creates("/v1/customers")}
    assert customer_keys <= {f"bloom-customer-{member.pk}"}


def test_card_remove_failing_keeps_the_card_and_says_so_kindly(client, fake_stripe, settings, member_with_card):
    card = member_with_card.payment_methods.get()
    client.force_login(member_with_card)
    stripe_breaks(fake_stripe, settings, "500")
    page = client.post(reverse("billing:card_remove", args=[card.pk]), follow=True).content.decode()
    assert "so the card is still saved" in page
    sf.assert_no_provider_text(fake_stripe, page)
    card.refresh_from_db()
    assert card.detached_at is None


# --- authorise -------------------------------------------------------------------------------


@pytest.mark.parametrize("decline_code", [None, "insufficient_funds"])
def test_authorise_refused_by_the_card_fails_in_blooms_words(
    fake_stripe, settings, purchases, member_with_card, decline_code
):
    stripe_breaks(fake_stripe, settings, "402", path="/v1/payment_intents", decline_code=decline_code)
    payment = _authorize(member_with_card)

    assert payment.status == PaymentStatus.FAILED
    expected = "insufficient funds" if decline_code else "Your bank declined the card"
    assert expected in payment.failure_message
    assert purchases.failed == [payment.pk]
    assert not StripeCheck.objects.exists()
    notice = UserNotification.objects.get(user=member_with_card)
    assert notice.type == "payment_failed" and expected in notice.message
    sf.assert_no_provider_text(fake_stripe, notice.message, *sf.queued_email_texts())


def test_authorise_needing_authentication_asks_in_blooms_words(fake_stripe, purchases, member_with_card):
    fake_stripe.next_payment_intent_error = "authentication_required"
    payment = _authorize(member_with_card)
    assert payment.needs_action and payment.failure_message == "Your bank asked you to confirm this payment."
    assert not StripeCheck.objects.exists()


@pytest.mark.parametrize("failure", UNKNOWN_FAILURES)
def test_authorise_without_an_answer_waits_checking_and_the_retry_sends_the_same_request(
    fake_stripe, settings, purchases, member_with_card, client, failure
):
    stripe_breaks(fake_stripe, settings, failure, path="/v1/payment_intents")
    payment = _authorize(member_with_card)

    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    check = StripeCheck.objects.get(payment=payment)
    assert (check.operation, check.attempts, check.settled_at) == (StripeCheckOperation.PAYMENT_CREATE, 1, None)
    assert check.idempotency_key == f"bloom-pi-{payment.pk}"
    assert abs((check.next_attempt_at - check.created_at).total_seconds() - STRIPE_CHECK_RETRY_DELAYS[0]) < 5
    assert purchases.failed == [] and purchases.paid == []
    _assert_silent_about(member_with_card, fake_stripe)
    client.force_login(member_with_card)
    page = client.get(reverse("billing:billing_home")).content.decode()
    assert "We're confirming this payment with our payment provider" in page
    sf.assert_no_provider_text(fake_stripe, page)

    stripe_mends(fake_stripe, settings)
    assert _retry(check) == "answered"

    payment.refresh_from_db()
    check.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CAPTURE
    assert check.settled_at is not None and check.attempts == 2
    sent = [c.idempotency_key for c in fake_stripe.creates("/v1/payment_intents") if c.path == "/v1/payment_intents"]
    assert set(sent) == {f"bloom-pi-{payment.pk}"}
    assert len(fake_stripe.payment_intents) == 1  # one hold at Stripe, whichever try made it
    assert PaymentIntent.objects.count() == 1


def test_a_retry_that_still_gets_no_answer_backs_off_then_alerts_staff_once(
    fake_stripe, settings, purchases, member_with_card
):
    stripe_breaks(fake_stripe, settings, "500")
    payment = _authorize(member_with_card)
    check = StripeCheck.objects.get(payment=payment)
    gaps = []
    for _ in STRIPE_CHECK_RETRY_DELAYS:
        assert _retry(check) == "unknown"
        check.refresh_from_db()
        if check.next_attempt_at is not None:
            gaps.append(round((check.next_attempt_at - timezone.now()).total_seconds()))
    assert gaps == pytest.approx(list(STRIPE_CHECK_RETRY_DELAYS[1:]), abs=5)
    assert check.next_attempt_at is None and check.attempts == len(STRIPE_CHECK_RETRY_DELAYS) + 1
    assert check.staff_alerted_at is not None
    alert = EmailQueue.objects.get(to_email=settings.BLOOM_STAFF_ALERT_EMAIL)
    assert check.idempotency_key in alert.text_body
    assert tasks.stripe_check_run_task(str(check.pk)) == "not_due"  # out of retries: the sweeper leaves it
    assert selectors.stripe_check_list_due() == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT and purchases.failed == []
    assert not UserNotification.objects.filter(user=member_with_card).exists()


def test_a_create_is_never_resent_once_stripe_may_have_forgotten_its_key(
    fake_stripe, settings, purchases, member_with_card
):
    stripe_breaks(fake_stripe, settings, "timeout", path="/v1/payment_intents")
    payment = _authorize(member_with_card)
    check = StripeCheck.objects.get(payment=payment)
    StripeCheck.objects.filter(pk=check.pk).update(created_at=timezone.now() - timedelta(hours=23, minutes=5))
    stripe_mends(fake_stripe, settings)
    calls_before = len(fake_stripe.calls)

    assert _retry(check) == "expired"
    assert len(fake_stripe.calls) == calls_before
    check.refresh_from_db()
    assert check.settled_at is None and check.next_attempt_at is None and check.staff_alerted_at is not None


def test_staff_retry_of_an_unanswered_charge_sends_the_same_request_and_makes_no_second_row(
    fake_stripe, settings, purchases, member_with_card
):
    stripe_breaks(fake_stripe, settings, "timeout_after_processing", path="/v1/payment_intents")
    first = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-1", amount=Decimal("75.00"), description="Fee"
    )
    assert first.status == PaymentStatus.REQUIRES_PAYMENT  # Stripe charged; the answer never came
    assert len(fake_stripe.payment_intents) == 1

    still = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-1", amount=Decimal("75.00"), description="Fee"
    )  # staff try again while Stripe is still not answering
    assert still.pk == first.pk and still.status == PaymentStatus.REQUIRES_PAYMENT
    with pytest.raises(ApplicationError, match="still being confirmed"):
        services.payment_charge_off_session(
            member=member_with_card, kind="test_purchase", object_id="fee-1", amount=Decimal("90.00"), description="Fee"
        )

    stripe_mends(fake_stripe, settings)
    settled = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-1", amount=Decimal("75.00"), description="Fee"
    )
    assert settled.pk == first.pk and settled.status == PaymentStatus.SUCCEEDED
    assert PaymentIntent.objects.filter(object_id="fee-1").count() == 1
    keys = {c.idempotency_key for c in fake_stripe.creates("/v1/payment_intents")}
    assert keys == {f"bloom-pi-{first.pk}"}
    assert len(fake_stripe.payment_intents) == 1  # charged once
    assert purchases.paid == [first.pk] and purchases.failed == []
    assert _told_member(member_with_card) == ([], [])  # never told it failed


def test_the_webhook_settles_an_unanswered_charge(fake_stripe, settings, purchases, member_with_card, deliver):
    stripe_breaks(fake_stripe, settings, "timeout_after_processing", path="/v1/payment_intents")
    payment = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-2", amount=Decimal("75.00"), description="Fee"
    )
    [intent] = fake_stripe.payment_intents.values()  # what Stripe did, as its webhook reports it
    response = deliver(sf.event("payment_intent.succeeded", intent))

    assert response.status_code == 200
    payment.refresh_from_db()
    check = StripeCheck.objects.get(payment=payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.stripe_payment_intent_id == intent["id"] and payment.stripe_charge_id == intent["latest_charge"]
    assert check.settled_at is not None and check.outcome == "paid"
    assert purchases.paid == [payment.pk]
    stripe_mends(fake_stripe, settings)
    assert _retry(check) == "settled"  # the sweeper finds nothing left to ask


def test_the_webhook_reporting_a_decline_settles_and_tells_the_member_in_blooms_words(
    fake_stripe, settings, purchases, member_with_card, deliver
):
    stripe_breaks(fake_stripe, settings, "500", path="/v1/payment_intents")
    payment = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-3", amount=Decimal("75.00"), description="Fee"
    )
    intent = sf.payment_intent_obj(payment, status="requires_payment_method", error_code="card_declined")
    intent["last_payment_error"]["message"] = "Your card was declined (fake Stripe webhook)."
    fake_stripe.sent_messages.add(intent["last_payment_error"]["message"])
    deliver(sf.event("payment_intent.payment_failed", intent))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert StripeCheck.objects.get(payment=payment).settled_at is not None
    assert payment.failure_message == services.CARD_DECLINED_MESSAGE
    sf.assert_no_provider_text(fake_stripe, payment.failure_message, *sf.queued_email_texts())


def test_stripe_reconcile_settles_unanswered_requests(fake_stripe, settings, purchases, member_with_card, capsys):
    stripe_breaks(fake_stripe, settings, "malformed", path="/v1/payment_intents")
    payment = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-4", amount=Decimal("75.00"), description="Fee"
    )
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT
    stripe_mends(fake_stripe, settings)

    call_command("stripe_reconcile", "--since", "1h")

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert StripeCheck.objects.get(payment=payment).settled_at is not None
    assert "Checks with Stripe: 1 answered." in capsys.readouterr().out
    assert len(fake_stripe.payment_intents) == 1


# --- capture ---------------------------------------------------------------------------------


def test_capture_refused_by_the_card_fails_the_payment(fake_stripe, settings, purchases, member_with_card):
    held = _authorize(member_with_card)
    stripe_breaks(fake_stripe, settings, "402", path="/v1/payment_intents/")
    payment = services.payment_capture(payment=held, amount=Decimal("100.00"))
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == services.CARD_DECLINED_MESSAGE
    assert purchases.failed == [payment.pk] and purchases.paid == []


@pytest.mark.parametrize("failure", UNKNOWN_FAILURES)
def test_capture_without_an_answer_is_checked_and_never_captured_twice(
    fake_stripe, settings, purchases, member_with_card, failure
):
    held = _authorize(member_with_card)
    stripe_breaks(fake_stripe, settings, failure, path=f"/v1/payment_intents/{held.stripe_payment_intent_id}")

    with pytest.raises(services.PaymentOutcomeUnknown, match="did not confirm the capture"):
        services.payment_capture(payment=held, amount=Decimal("100.00"))

    held.refresh_from_db()
    check = StripeCheck.objects.get(payment=held, settled_at__isnull=True)
    assert held.status == PaymentStatus.REQUIRES_CAPTURE and purchases.paid == [] and purchases.failed == []
    assert check.operation == StripeCheckOperation.CAPTURE
    assert check.idempotency_key == f"bloom-capture-{held.pk}-10000"
    with pytest.raises(ApplicationError, match="different amount"):
        services.payment_capture(payment=held, amount=Decimal("120.00"))

    stripe_mends(fake_stripe, settings)
    captured = services.payment_capture(payment=held, amount=Decimal("100.00"))  # staff retry

    assert captured.status == PaymentStatus.SUCCEEDED and captured.amount == Decimal("100.00")
    assert captured.metadata["authorized_amount"] == "150.00"
    capture_keys = {
        c.idempotency_key for c in fake_stripe.creates(f"/v1/payment_intents/{held.stripe_payment_intent_id}/")
    }
    assert capture_keys == {check.idempotency_key}
    assert purchases.paid == [held.pk]
    assert _retry(check) == "settled"


def test_partial_capture_records_what_stripe_captured_not_what_was_asked(fake_stripe, purchases, member_with_card):
    held = _authorize(member_with_card)
    original = fake_stripe.handle

    def handle(method, path, params, key):
        status, body = original(method, path, params, key)
        if path.endswith("/capture"):
            body = {**body, "amount_received": 9000}  # the bank allowed less than was asked
        return status, body

    fake_stripe.handle = handle
    captured = services.payment_capture(payment=held, amount=Decimal("100.00"))
    assert captured.amount == Decimal("90.00")


def test_capture_answer_without_a_captured_amount_records_the_amount_asked(fake_stripe, purchases, member_with_card):
    held = _authorize(member_with_card)
    original = fake_stripe.handle

    def handle(method, path, params, key):
        status, body = original(method, path, params, key)
        if path.endswith("/capture"):
            body = {k: v for k, v in body.items() if k != "amount_received"}
            body["latest_charge"] = {"id": "ch_expanded1", "object": "charge"}  # expanded, no amount
        return status, body

    fake_stripe.handle = handle
    captured = services.payment_capture(payment=held, amount=Decimal("60.00"))
    assert captured.amount == Decimal("60.00")
    assert captured.stripe_charge_id == "ch_expanded1"


def test_an_expanded_latest_charge_is_stored_as_its_id(fake_stripe, purchases, member_with_card):
    original = fake_stripe.handle

    def handle(method, path, params, key):
        status, body = original(method, path, params, key)
        if path == "/v1/payment_intents" and isinstance(body, dict) and body.get("latest_charge"):
            body = {**body, "latest_charge": {"id": body["latest_charge"], "object": "charge", "amount_captured": 7500}}
        return status, body

    fake_stripe.handle = handle
    payment = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-9", amount=Decimal("75.00"), description="Fee"
    )
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.stripe_charge_id.startswith("ch_") and "{" not in payment.stripe_charge_id


# --- release ---------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", FAILURES)
def test_release_without_an_answer_is_checked_then_settled_by_the_retry(
    fake_stripe, settings, purchases, member_with_card, failure
):
    held = _authorize(member_with_card)
    stripe_breaks(fake_stripe, settings, failure, path=f"/v1/payment_intents/{held.stripe_payment_intent_id}")

    with pytest.raises(services.PaymentOutcomeUnknown, match="hold was released"):
        services.payment_release(payment=held)

    held.refresh_from_db()
    check = StripeCheck.objects.get(payment=held, settled_at__isnull=True)
    assert held.status == PaymentStatus.REQUIRES_CAPTURE
    assert (check.operation, check.idempotency_key) == (StripeCheckOperation.RELEASE, f"bloom-release-{held.pk}")
    with pytest.raises(ApplicationError, match="not confirmed the last request"):
        services.payment_capture(payment=held)  # no capture while the release is unknown
    _assert_silent_about(member_with_card, fake_stripe)

    stripe_mends(fake_stripe, settings)
    assert _retry(check) == "answered"
    held.refresh_from_db()
    assert held.status == PaymentStatus.CANCELED
    assert purchases.failed == []  # a release asked for is not a failure
    keys = {c.idempotency_key for c in fake_stripe.creates(f"/v1/payment_intents/{held.stripe_payment_intent_id}/")}
    assert keys == {f"bloom-release-{held.pk}"}


def test_release_is_refused_while_the_hold_itself_is_unconfirmed(fake_stripe, settings, purchases, member_with_card):
    stripe_breaks(fake_stripe, settings, "timeout", path="/v1/payment_intents")
    payment = _authorize(member_with_card)
    with pytest.raises(ApplicationError, match="not confirmed the last request"):
        services.payment_release(payment=payment)


# --- refund (staff, through the admin) --------------------------------------------------------


def _approve_in_admin(client, refund):
    return client.post(
        reverse("admin:billing_refundrequest_changelist"),
        {"action": "approve_refunds", "_selected_action": [str(refund.pk)], "confirm": "yes"},
        follow=True,
    )


@pytest.fixture
def staff_client(client):
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


@pytest.mark.parametrize("failure", FAILURES)
def test_refund_approved_without_an_answer_stays_approved_and_is_refunded_once(
    fake_stripe, settings, purchases, staff_client, failure
):
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("40"), reason="x")
    stripe_breaks(fake_stripe, settings, failure, path="/v1/refunds")

    response = _approve_in_admin(staff_client, request)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stripe did not confirm the refund. It stays approved" in page
    assert "0 refunds sent to Stripe." in page
    request.refresh_from_db()
    check = StripeCheck.objects.get(refund=request)
    assert request.status == RefundStatus.APPROVED and request.stripe_refund_id is None
    assert (check.operation, check.idempotency_key) == (StripeCheckOperation.REFUND, f"bloom-refund-{request.pk}-4000")
    assert check.last_error  # what Stripe said, for staff
    assert purchases.refunded == []
    member_mail = EmailQueue.objects.filter(to_email=payment.user.email)
    assert list(member_mail.values_list("subject", flat=True)) == ["Your refund was approved"]
    sf.assert_no_provider_text(fake_stripe, *sf.queued_email_texts())
    member_page_client = type(staff_client)()
    member_page_client.force_login(payment.user)
    member_page = member_page_client.get(reverse("billing:billing_home")).content.decode()
    assert "We're confirming this refund with our payment provider" in member_page
    sf.assert_no_provider_text(fake_stripe, member_page)

    stripe_mends(fake_stripe, settings)
    again = _approve_in_admin(staff_client, request).content.decode()  # staff retry
    assert "1 refund sent to Stripe." in again
    request.refresh_from_db()
    payment.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED and payment.amount_refunded == Decimal("40.00")
    assert {c.idempotency_key for c in fake_stripe.creates("/v1/refunds")} == {check.idempotency_key}
    refunds_made = {
        body["id"]
        for status, body in fake_stripe.idempotent.values()
        if isinstance(body, dict) and body.get("object") == "refund"
    }
    assert len(refunds_made) == 1
    assert RefundRequest.objects.filter(payment=payment).count() == 1
    assert purchases.refunded == [(payment.pk, Decimal("40.00"), False)]


def test_refund_approved_again_with_another_amount_while_unconfirmed_is_refused(fake_stripe, settings, purchases):
    staff = UserFactory(is_staff=True)
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("40"), reason="x")
    stripe_breaks(fake_stripe, settings, "429", path="/v1/refunds")
    with pytest.raises(services.PaymentOutcomeUnknown):
        services.refund_approve(refund=request, staff=staff)
    with pytest.raises(ApplicationError, match="still being confirmed"):
        services.refund_approve(refund=request, staff=staff, amount=Decimal("30.00"))


def test_refund_webhook_settles_an_unanswered_refund(fake_stripe, settings, purchases, deliver):
    staff = UserFactory(is_staff=True)
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("40"), reason="x")
    stripe_breaks(fake_stripe, settings, "timeout_after_processing", path="/v1/refunds")
    with pytest.raises(services.PaymentOutcomeUnknown):
        services.refund_approve(refund=request, staff=staff)
    [made] = [body for _s, body in fake_stripe.idempotent.values() if body.get("object") == "refund"]

    deliver(sf.event("refund.updated", made))
    deliver(sf.event("charge.refunded", sf.charge_obj(payment, amount_refunded=4000)))

    request.refresh_from_db()
    payment.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED and request.stripe_refund_id == made["id"]
    assert StripeCheck.objects.get(refund=request).settled_at is not None
    assert payment.amount_refunded == Decimal("40.00")
    assert RefundRequest.objects.filter(payment=payment).count() == 1  # not mistaken for a dashboard refund


def test_charge_refunded_alone_settles_an_unanswered_refund_without_a_dashboard_row(
    fake_stripe, settings, purchases, deliver
):
    staff = UserFactory(is_staff=True)
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    request = services.refund_request_create(member=payment.user, payment=payment, amount=Decimal("40"), reason="x")
    stripe_breaks(fake_stripe, settings, "timeout_after_processing", path="/v1/refunds")
    with pytest.raises(services.PaymentOutcomeUnknown):
        services.refund_approve(refund=request, staff=staff)

    deliver(sf.event("charge.refunded", sf.charge_obj(payment, amount_refunded=4000)))

    request.refresh_from_db()
    assert request.status == RefundStatus.REFUNDED
    assert StripeCheck.objects.get(refund=request).settled_at is not None
    assert RefundRequest.objects.filter(payment=payment).count() == 1


# --- the retry loop with a real worker --------------------------------------------------------


@pytest.fixture
def worker_with_fake_stripe(monkeypatch, settings):
    """A fake Stripe the worker subprocess can reach (its settings read BLOOM_TEST_STRIPE_API_BASE)."""
    with sf.running_fake_stripe(settings) as fake:
        monkeypatch.setenv("BLOOM_TEST_STRIPE_API_BASE", fake.url)
        yield fake


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_on_a_worker_resends_the_same_request_when_due(
    worker_with_fake_stripe, settings, purchases, request
):
    fake = worker_with_fake_stripe
    customer = BillingCustomerFactory()
    UserPaymentMethodFactory(user=customer.user)
    stripe_breaks(fake, settings, "500", path="/v1/payment_intents")
    payment = _authorize(customer.user)
    check = StripeCheck.objects.get(payment=payment)
    stripe_mends(fake, settings)
    _due(check)
    request.getfixturevalue("celery_worker_process")  # started after the variable above is set

    tasks.stripe_checks_sweep_task.delay()

    wait_until(
        lambda: StripeCheck.objects.filter(pk=check.pk, settled_at__isnull=False).exists(),
        timeout=60,
        what="the worker's sweeper to settle the check",
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CAPTURE
    keys = [c.idempotency_key for c in fake.calls if c.path == "/v1/payment_intents"]
    assert set(keys) == {f"bloom-pi-{payment.pk}"} and len(fake.payment_intents) == 1


# --- staff: the back office and cleanup_orphans ------------------------------------------------


def test_staff_see_the_check_and_ask_stripe_again_from_the_payment_admin(
    fake_stripe, settings, purchases, member_with_card, staff_client
):
    stripe_breaks(fake_stripe, settings, "timeout_after_processing", path="/v1/payment_intents")
    payment = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-5", amount=Decimal("75.00"), description="Fee"
    )
    check = StripeCheck.objects.get(payment=payment)
    listing = staff_client.get(reverse("admin:billing_paymentintent_changelist"), {"checking": "yes"})
    assert listing.status_code == 200 and str(payment.pk) in listing.content.decode()
    detail = staff_client.get(reverse("admin:billing_paymentintent_change", args=[payment.pk])).content.decode()
    assert check.idempotency_key in detail and "ReadTimeout" in detail  # Stripe's words, for staff
    assert staff_client.get(reverse("admin:billing_stripecheck_changelist")).status_code == 200

    stripe_mends(fake_stripe, settings)
    page = staff_client.post(
        reverse("admin:billing_paymentintent_changelist"),
        {"action": "check_with_stripe", "_selected_action": [str(payment.pk)]},
        follow=True,
    ).content.decode()

    assert "1 settled by Stripe&#x27;s answer" in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and len(fake_stripe.payment_intents) == 1
    settled = staff_client.get(reverse("admin:billing_paymentintent_changelist"), {"checking": "yes"})
    assert str(payment.pk) not in settled.content.decode()


def test_cleanup_orphans_never_cancels_a_payment_still_checking_with_stripe(
    fake_stripe, settings, purchases, member_with_card
):
    from billing.orphans import CHECKS

    stripe_breaks(fake_stripe, settings, "500", path="/v1/payment_intents")
    payment = services.payment_charge_off_session(
        member=member_with_card, kind="test_purchase", object_id="fee-6", amount=Decimal("75.00"), description="Fee"
    )
    PaymentIntent.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(days=3))
    StripeCheck.objects.filter(payment=payment).update(created_at=timezone.now() - timedelta(days=3))
    checks = {check.name: check for check in CHECKS}

    abandoned = checks["payment_intents awaiting payment for more than 2 days (abandoned checkouts)"]
    assert abandoned.find().count() == 0
    stuck = checks["stripe_checks still open a day after the request (Stripe never answered)"]
    assert list(stuck.find().values_list("payment_id", flat=True)) == [payment.pk]
