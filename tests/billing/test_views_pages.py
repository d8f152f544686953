"""Member billing pages: lists, receipts, refund requests; fenced by member; pinned query counts."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import PaymentStatus, RefundRequest, RefundStatus
from tests.factories.accounts import UserFactory
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory, UserPaymentMethodFactory

pytestmark = pytest.mark.django_db


def _member_with_history():
    member = UserFactory()
    for _ in range(3):
        payment = PaymentIntentFactory(user=member, paid=True)
        RefundRequestFactory(payment=payment, user=member)
    UserPaymentMethodFactory(user=member)
    return member


def test_billing_home_lists_only_the_members_rows_with_fixed_queries(client, django_assert_num_queries):
    member = _member_with_history()
    other = PaymentIntentFactory(paid=True, description="Someone else's course")
    client.force_login(member)
    client.get(reverse("billing:billing_home"))  # warm the session

    # session, user with profile, summary, payments, payments needing action, refunds, cards
    # (the bell's unread count is kept from the first visit): the same seven however many rows.
    with django_assert_num_queries(7):
        response = client.get(reverse("billing:billing_home"))
    assert response.status_code == 200
    assert response.content.count(b"Receipt</a>") == 3
    assert other.description.encode() not in response.content

    _member_with_history()
    for _ in range(4):
        PaymentIntentFactory(user=member, paid=True)
    with django_assert_num_queries(7):
        client.get(reverse("billing:billing_home"))


def test_billing_home_empty_states(client):
    client.force_login(UserFactory())
    response = client.get(reverse("billing:billing_home"))
    assert b"You have not made any payments yet." in response.content
    assert b"No saved cards." in response.content


def test_receipt_is_printable_and_fenced(client):
    payment = PaymentIntentFactory(paid=True, description="Calm Beginnings", amount=Decimal("149.00"))
    client.force_login(payment.user)
    response = client.get(reverse("billing:receipt", args=[payment.pk]))
    assert response.status_code == 200
    assert b"Calm Beginnings" in response.content and b"149.00" in response.content
    # The print button is wired by a static script (no inline handler under the CSP, docs/adr/0140).
    assert b'<button type="button" data-print-button hidden>Print this receipt</button>' in response.content
    assert b'<script src="/static/js/print-button.js"></script>' in response.content

    client.force_login(UserFactory())
    assert client.get(reverse("billing:receipt", args=[payment.pk])).status_code == 404


def test_unpaid_payment_has_no_receipt(client):
    payment = PaymentIntentFactory()
    client.force_login(payment.user)
    assert client.get(reverse("billing:receipt", args=[payment.pk])).status_code == 404


def test_pages_require_login(client):
    payment = PaymentIntentFactory(paid=True)
    for url in (
        reverse("billing:billing_home"),
        reverse("billing:receipt", args=[payment.pk]),
        reverse("billing:refund_request", args=[payment.pk]),
        reverse("billing:checkout_return", args=[payment.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_member_asks_for_a_refund(client, mailoutbox_rows):
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    client.force_login(payment.user)
    url = reverse("billing:refund_request", args=[payment.pk])

    response = client.post(url, {"amount": "40.00", "reason": "Baby arrived early; I missed the sessions."})

    assert response.status_code == 302
    request = RefundRequest.objects.get()
    assert (request.amount_requested, request.status, request.user) == (
        Decimal("40.00"),
        RefundStatus.REQUESTED,
        payment.user,
    )
    assert mailoutbox_rows(to="care-team@bloompsychology.example", subject_contains="Refund requested") == 1


def test_refund_request_above_the_paid_amount_keeps_the_form(client):
    payment = PaymentIntentFactory(paid=True, amount=Decimal("100.00"))
    client.force_login(payment.user)
    response = client.post(
        reverse("billing:refund_request", args=[payment.pk]), {"amount": "150.00", "reason": "Please"}
    )
    assert response.status_code == 200
    assert b"Please" in response.content  # what they typed is kept
    assert not RefundRequest.objects.exists()


def test_another_members_refund_page_is_404(client):
    payment = PaymentIntentFactory(paid=True)
    client.force_login(UserFactory())
    response = client.post(reverse("billing:refund_request", args=[payment.pk]), {"amount": "1", "reason": "x"})
    assert response.status_code == 404
    assert not RefundRequest.objects.exists()


def test_unpaid_payment_cannot_be_refunded(client):
    payment = PaymentIntentFactory(status=PaymentStatus.PROCESSING)
    client.force_login(payment.user)
    response = client.post(reverse("billing:refund_request", args=[payment.pk]), {"amount": "10", "reason": "x"})
    assert response.status_code == 200
    assert b"Only a completed payment can be refunded." in response.content
    assert not RefundRequest.objects.exists()


def test_dashboard_panel_uses_one_query_and_has_an_empty_state(client, django_assert_num_queries):
    from accounts.dashboard import panels

    [panel] = [p for p in panels() if p.key == "billing"]
    member = UserFactory()
    with django_assert_num_queries(1):  # her totals with the count of payments needing action
        context = panel.context(member)
    assert context["needs_action"] == 0

    client.force_login(member)
    page = client.get(reverse("accounts:dashboard"))
    assert b"No payments yet. Receipts and saved cards will appear here." in page.content

    PaymentIntentFactory(user=member, paid=True, amount=Decimal("80.00"))
    PaymentIntentFactory(user=member, needs_action=True)
    PaymentIntentFactory(user=UserFactory(), needs_action=True)  # someone else's is not counted
    with django_assert_num_queries(1):
        context = panel.context(member)
    assert (context["summary"].payment_count, context["needs_action"]) == (1, 1)
    page = client.get(reverse("accounts:dashboard"))
    assert b"1 payment, $80.00 USD in total." in page.content
    assert b"1 payment needs your confirmation." in page.content


def test_billing_page_shows_summary_totals_cards_and_open_refund_requests(client):
    member = UserFactory()
    course = PaymentIntentFactory(user=member, paid=True, amount=Decimal("120.00"), description="Calm Mama course")
    workshop = PaymentIntentFactory(
        user=member,
        paid=True,
        amount=Decimal("80.00"),
        amount_refunded=Decimal("30.00"),
        status=PaymentStatus.PARTIALLY_REFUNDED,
        description="Sleep workshop",
    )
    RefundRequestFactory(
        payment=workshop,
        amount_requested=Decimal("30.00"),
        amount_refunded=Decimal("30.00"),
        status=RefundStatus.REFUNDED,
    )
    RefundRequestFactory(payment=course, amount_requested=Decimal("15.00"), reason="Missed week two")
    RefundRequestFactory(payment=course, amount_requested=Decimal("5.00"), status=RefundStatus.DENIED)
    UserPaymentMethodFactory(user=member, brand="mastercard", last4="5454", exp_month=4, exp_year=2031)
    UserPaymentMethodFactory(user=member, last4="1881", is_default=False)
    client.force_login(member)

    page = client.get(reverse("billing:billing_home")).content.decode()

    # Totals come from the user_payment_summary view.
    assert "<dt>Paid</dt><dd>$200.00 USD</dd>" in page
    assert "<dt>Refunded</dt><dd>$30.00 USD</dd>" in page
    assert "<dt>Net</dt><dd>$170.00 USD</dd>" in page
    assert "<dt>Payments</dt><dd>2</dd>" in page
    assert "<dt>Refunds</dt><dd>1</dd>" in page
    assert "<dt>Open refund requests</dt><dd>1</dd>" in page
    # Receipts for both paid payments (plus the refunded one's row in the refunds list).
    assert reverse("billing:receipt", args=[course.pk]) in page
    assert reverse("billing:receipt", args=[workshop.pk]) in page
    # Open refund requests are listed on their own; finished ones below.
    open_section = page.split('id="open-refunds-heading"')[1].split("</section>")[0]
    assert "Calm Mama course" in open_section and "15.00 USD" in open_section
    assert "Denied" not in open_section and "Refunded" not in open_section
    past_section = page.split('id="refunds-heading"')[1].split("</section>")[0]
    assert "Sleep workshop" in past_section and "30.00 USD" in past_section and "Denied" in past_section
    # Saved cards, the default first, with make-default and remove buttons.
    cards_section = page.split('id="cards-heading"')[1].split("</section>")[0]
    assert cards_section.index("Mastercard ending 5454") < cards_section.index("Visa ending 1881")
    assert "expires 4/2031" in cards_section
    assert cards_section.count("Make default") == 1
    assert cards_section.count(">Remove</button>") == 2


def test_billing_page_empty_refund_sections(client):
    client.force_login(UserFactory())
    page = client.get(reverse("billing:billing_home")).content.decode()
    assert "No open refund requests." in page
    assert "No completed or declined refunds." in page


def test_receipt_lists_refunds_and_net(client):
    payment = PaymentIntentFactory(
        paid=True, amount=Decimal("80.00"), amount_refunded=Decimal("30.00"), status=PaymentStatus.PARTIALLY_REFUNDED
    )
    RefundRequestFactory(
        payment=payment,
        amount_requested=Decimal("30.00"),
        amount_refunded=Decimal("30.00"),
        status=RefundStatus.REFUNDED,
        refunded_at=payment.paid_at,
    )
    client.force_login(payment.user)
    page = client.get(reverse("billing:receipt", args=[payment.pk])).content.decode()
    assert "<dt>Amount paid</dt><dd>$80.00 USD</dd>" in page
    assert "$30.00 USD" in page
    assert "<dt>Net paid</dt><dd>$50.00 USD</dd>" in page
    assert str(payment.pk) in page
