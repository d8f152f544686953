"""The booking gate: a saved card, then the therapist's policy, then Calendly, pre-filled and tracked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import ConsentKind, ConsentRecord
from appointments.booking import STEP_CARD, STEP_POLICY, STEP_READY, booking_gate_get, policy_acceptance_current
from appointments.models import BookingLink, BookingPolicyAcceptance, GoodFaithEstimate
from appointments.tracking import booking_link_for_tracking
from billing.models import BillingCustomer
from tests.appointments import support_booking
from tests.appointments.support_booking import accept, book_url, query, seen, with_card
from tests.billing import stripe_fakes as sf
from tests.factories.accounts import UserFactory
from tests.factories.appointments import BookingPolicyAcceptanceFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db

bookable = support_booking.bookable
fake_stripe = support_booking.fake_stripe

AGENT = "Mozilla/5.0 (Bloom test browser)"


def test_without_a_card_the_gate_asks_for_one_and_refuses_the_policy(client, member, bookable):
    client.force_login(member)

    page = client.get(book_url(bookable))
    assert page.context["gate"].step == STEP_CARD
    assert f'href="{book_url(bookable, "book_card")}"' in page.content.decode()
    assert 'name="accept"' not in page.content.decode()

    response = accept(client, bookable)
    assert response.status_code == 302 and response["Location"] == book_url(bookable)
    assert not ConsentRecord.objects.filter(user=member).exists()
    assert not BookingPolicyAcceptance.objects.exists()
    assert not GoodFaithEstimate.objects.exists()


def test_calendly_before_the_gate_is_passed_goes_back_to_the_gate_and_makes_no_link(client, member, bookable):
    client.force_login(member)
    response = client.get(book_url(bookable, "book_calendly"))
    assert response.status_code == 302 and response["Location"] == book_url(bookable)
    with_card(member)
    response = client.get(book_url(bookable, "book_calendly"))
    assert response["Location"] == book_url(bookable)  # the policy is not accepted yet
    assert not BookingLink.objects.exists()


def test_card_then_policy_then_calendly_prefilled_with_a_tracking_value_that_maps_back(client, member, bookable):
    with_card(member)
    client.force_login(member)

    page = client.get(book_url(bookable))
    assert page.context["gate"].step == STEP_POLICY
    body = page.content.decode()
    assert "Version 2026-12" in body
    assert "up to 48 hours before it starts" in body
    assert "$60.00 USD" in body and "$90.00 USD" in body
    assert 'name="accept"' in body and "<label" in body

    response = accept(client, bookable, HTTP_USER_AGENT=AGENT, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == book_url(bookable)

    [consent] = ConsentRecord.objects.filter(user=member, kind=ConsentKind.BOOKING_POLICY)
    assert consent.granted is True
    assert consent.text_version == "2026-12"
    assert consent.ip_address == "203.0.113.9"
    assert consent.user_agent == AGENT
    assert consent.source == "booking_gate"
    assert consent.created_at is not None
    [acceptance] = BookingPolicyAcceptance.objects.filter(user=member)
    assert (acceptance.therapist, acceptance.consent, acceptance.policy_version) == (bookable, consent, "2026-12")
    assert acceptance.window_hours == 48
    assert (acceptance.session_fee, acceptance.no_show_fee, acceptance.late_cancel_fee) == (
        Decimal("175.00"),
        Decimal("90.00"),
        Decimal("60.00"),
    )
    assert policy_acceptance_current(user=member, therapist=bookable) == acceptance

    ready = client.get(book_url(bookable))
    assert ready.context["gate"].step == STEP_READY
    estimate = GoodFaithEstimate.objects.get(user=member)
    assert reverse("appointments:gfe_pdf", args=[estimate.pk]) in ready.content.decode()
    assert "calendly.com" not in ready.content.decode()  # the link goes through Bloom's redirect

    out = client.get(book_url(bookable, "book_calendly"))
    assert out.status_code == 302
    target = out["Location"]
    assert target.startswith("https://calendly.com/ada-hart/session?")
    params = query(target)
    assert params["name"] == [member.get_full_name()]
    assert params["email"] == [member.email]
    link = booking_link_for_tracking(params["utm_content"][0])
    assert link is not None and (link.user, link.therapist) == (member, bookable)
    assert member.email not in params["utm_content"][0]  # opaque: says nothing about her
    # The same value every time (one link per member and therapist).
    assert query(client.get(book_url(bookable, "book_calendly"))["Location"])["utm_content"] == params["utm_content"]
    assert BookingLink.objects.count() == 1


def test_a_forged_tracking_value_maps_to_nobody(member, bookable):
    assert booking_link_for_tracking("0" * 30) is None
    assert booking_link_for_tracking(None) is None


def test_accepting_twice_writes_once(client, member, bookable):
    with_card(member)
    client.force_login(member)
    accept(client, bookable)
    accept(client, bookable)
    assert BookingPolicyAcceptance.objects.filter(user=member).count() == 1
    assert ConsentRecord.objects.filter(user=member, kind=ConsentKind.BOOKING_POLICY).count() == 1
    assert GoodFaithEstimate.objects.filter(user=member).count() == 1


def test_without_the_tick_nothing_is_written_and_the_page_says_why(client, member, bookable):
    with_card(member)
    client.force_login(member)
    response = client.post(book_url(bookable), {"terms": seen(bookable)})
    assert response.status_code == 400
    assert "Please tick the box" in response.content.decode()
    assert "Version 2026-12" in response.content.decode()  # the policy is still on the page
    assert not BookingPolicyAcceptance.objects.exists()
    assert not ConsentRecord.objects.filter(kind=ConsentKind.BOOKING_POLICY).exists()


def test_a_wording_changed_while_she_read_is_asked_again(client, member, bookable, settings):
    with_card(member)
    client.force_login(member)
    shown = seen(bookable)
    settings.BLOOM_BOOKING_POLICY_VERSION = "2027-01"
    response = accept(client, bookable, terms_seen=shown, follow=True)
    assert "The policy was updated while you were reading it" in response.content.decode()
    assert response.context["gate"].step == STEP_POLICY
    assert "Version 2027-01" in response.content.decode()
    assert not BookingPolicyAcceptance.objects.exists()


def test_a_fee_changed_while_she_read_is_asked_again(client, member, bookable):
    with_card(member)
    client.force_login(member)
    shown = seen(bookable)
    bookable.no_show_fee = Decimal("150.00")
    bookable.save()
    response = accept(client, bookable, terms_seen=shown, follow=True)
    assert "The policy was updated while you were reading it" in response.content.decode()
    assert "$150.00 USD" in response.content.decode()
    assert not BookingPolicyAcceptance.objects.exists()
    assert not ConsentRecord.objects.filter(kind=ConsentKind.BOOKING_POLICY).exists()


def test_a_version_bump_asks_again_and_keeps_the_old_evidence(client, member, bookable, settings):
    with_card(member)
    client.force_login(member)
    accept(client, bookable)
    assert client.get(book_url(bookable)).context["gate"].step == STEP_READY

    settings.BLOOM_BOOKING_POLICY_VERSION = "2027-01"
    assert client.get(book_url(bookable)).context["gate"].step == STEP_POLICY
    assert client.get(book_url(bookable, "book_calendly"))["Location"] == book_url(bookable)
    accept(client, bookable)

    versions = sorted(
        ConsentRecord.objects.filter(user=member, kind=ConsentKind.BOOKING_POLICY).values_list(
            "text_version", flat=True
        )
    )
    assert versions == ["2026-12", "2027-01"]
    assert BookingPolicyAcceptance.objects.filter(user=member).count() == 2
    assert policy_acceptance_current(user=member, therapist=bookable).policy_version == "2027-01"
    assert GoodFaithEstimate.objects.filter(user=member).count() == 1  # still valid at the same fee


def test_a_changed_fee_asks_again(member, bookable):
    with_card(member)
    BookingPolicyAcceptanceFactory(user=member, therapist=bookable)
    assert booking_gate_get(member=member, therapist=bookable).step == STEP_READY
    bookable.no_show_fee = Decimal("120.00")
    bookable.save()
    assert booking_gate_get(member=member, therapist=bookable).step == STEP_POLICY


def test_policy_is_per_therapist(member, bookable):
    with_card(member)
    BookingPolicyAcceptanceFactory(user=member, therapist=bookable)
    other = TherapistProfileFactory()
    assert booking_gate_get(member=member, therapist=other).step == STEP_POLICY


def test_not_accepting_refuses_every_step_and_leaks_no_calendly_link(client, member, bookable):
    with_card(member)
    BookingPolicyAcceptanceFactory(user=member, therapist=bookable)
    bookable.is_accepting_clients = False
    bookable.save()
    client.force_login(member)
    detail = reverse("appointments:therapist_detail", args=[bookable.pk])

    for name in ("book", "book_card", "book_calendly"):
        response = client.get(book_url(bookable, name))
        assert response.status_code == 302 and response["Location"] == detail, name
    response = accept(client, bookable, follow=True)
    body = response.content.decode()
    assert "not taking new clients right now" in body
    assert "calendly.com" not in body
    assert BookingPolicyAcceptance.objects.filter(user=member).count() == 1
    assert not BookingLink.objects.exists()


def test_back_from_stripe_before_the_webhook_says_the_card_is_being_confirmed(client, member, bookable):
    client.force_login(member)
    body = client.get(book_url(bookable), {"redirect_status": "succeeded"}).content.decode()
    assert "We are confirming your card" in body
    failed = client.get(book_url(bookable), {"redirect_status": "failed"}).content.decode()
    assert "Your card was not saved and nothing was charged" in failed
    assert book_url(bookable, "book_card") in failed


def test_card_page_starts_a_setup_intent_that_returns_to_the_gate(client, member, bookable, fake_stripe):
    client.force_login(member)
    page = client.get(book_url(bookable, "book_card"))
    assert page.status_code == 200
    [setup] = fake_stripe.creates("/v1/setup_intents")
    assert setup.params["customer"] == BillingCustomer.objects.get(user=member).stripe_customer_id
    body = page.content.decode()
    assert "_secret_" in body
    assert f'data-return-url="http://testserver{book_url(bookable)}"' in body


@pytest.mark.parametrize("failure", sf.FAILURES)
@pytest.mark.parametrize("step", ["/v1/customers", "/v1/setup_intents"])
def test_stripe_failing_at_the_card_step_is_kind_saves_nothing_and_offers_a_way_on(
    client, member, bookable, fake_stripe, settings, failure, step
):
    if step == "/v1/setup_intents":
        from tests.factories.billing import BillingCustomerFactory

        BillingCustomerFactory(user=member)
    customers_before = BillingCustomer.objects.count()
    client.force_login(member)
    sf.stripe_breaks(fake_stripe, settings, failure, path=step)

    response = client.get(book_url(bookable, "book_card"), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(book_url(bookable), 302)]
    body = response.content.decode()
    assert "so no card was added and nothing was charged" in body
    assert f'href="{book_url(bookable, "book_card")}"' in body  # try again
    sf.assert_no_provider_text(fake_stripe, body)
    assert BillingCustomer.objects.count() == customers_before
    assert not member.payment_methods.exists()
    assert response.context["gate"].step == STEP_CARD
    assert not BookingPolicyAcceptance.objects.exists()

    sf.stripe_mends(fake_stripe, settings)
    again = client.get(book_url(bookable, "book_card"))
    assert again.status_code == 200 and "_secret_" in again.content.decode()


def test_another_member_cannot_use_her_acceptance(client, bookable):
    her = UserFactory()
    with_card(her)
    BookingPolicyAcceptanceFactory(user=her, therapist=bookable)
    someone = UserFactory()
    client.force_login(someone)
    assert client.get(book_url(bookable)).context["gate"].step == STEP_CARD


def test_two_submits_at_once_write_one_acceptance(transactional_db):
    import threading

    from django.db import connection

    from appointments.booking import booking_policy_accept, policy_terms
    from tests.appointments.support_booking import bookable_therapist

    member = UserFactory()
    with_card(member)
    therapist = bookable_therapist()
    fingerprint = policy_terms(therapist=therapist).fingerprint
    barrier = threading.Barrier(2)
    errors = []

    def submit():
        try:
            barrier.wait()
            booking_policy_accept(member=member, therapist=therapist, terms_seen=fingerprint)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert BookingPolicyAcceptance.objects.filter(user=member).count() == 1
    assert ConsentRecord.objects.filter(user=member, kind=ConsentKind.BOOKING_POLICY).count() == 1
    assert GoodFaithEstimate.objects.filter(user=member).count() == 1
