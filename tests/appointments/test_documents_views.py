"""The documents page, the receipt and superbill downloads: fenced to the member, clear errors
that keep what she typed, a kind message for an empty range, pinned query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserProfile
from appointments.models import AppointmentStatus
from tests.appointments.support_documents import past_session, pay, pdf_text, refund
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentPaymentFactory, TherapistProfileFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("appointments:documents")
SUPERBILL = reverse("appointments:superbill_pdf")


@pytest.fixture
def member():
    member = UserFactory(first_name="Maya", last_name="Member")
    UserProfile.objects.filter(user=member).update(timezone="America/New_York")
    return member


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return member


@pytest.fixture
def therapist():
    return TherapistProfileFactory(display_name="Dr. Ada Hart", credentials="PhD", npi="1234567893")


def _receipt_url(appointment) -> str:
    return reverse("appointments:receipt_pdf", kwargs={"appointment_id": appointment.pk})


# --- The page -----------------------------------------------------------------------------------


def test_page_empty_states_and_default_range_of_this_year(client, signed_in):
    response = client.get(PAGE)
    html = response.content.decode()
    today = timezone.localdate(timezone=datetime.UTC).replace(day=1)  # any day this year
    assert response.status_code == 200
    assert "No receipts yet." in html
    assert f'value="{today.year}-01-01"' in html and 'name="end"' in html
    assert 'type="date"' in html and '<label for="id_start">From</label>' in html


def test_page_lists_her_receipts_only_with_times_in_her_zone(client, signed_in, therapist):
    mine = past_session(member=signed_in, therapist=therapist, days_ago=4)
    pay(appointment=mine, amount="180.00")
    theirs = past_session(member=UserFactory(), therapist=therapist, days_ago=4)
    pay(appointment=theirs, amount="99.00")

    html = client.get(PAGE).content.decode()

    local = timezone.localtime(mine.starts_at, datetime.timezone(datetime.timedelta(hours=-5)))
    assert _receipt_url(mine) in html and _receipt_url(theirs) not in html
    assert "$180.00 USD paid" in html and "$99.00" not in html
    assert f"{local:%-I}:00" in html and ("EST" in html or "EDT" in html)


def test_page_shows_a_refund_next_to_the_receipt(client, signed_in, therapist):
    appointment = past_session(member=signed_in, therapist=therapist)
    refund(payment=pay(appointment=appointment, amount="180.00"), amount="50.00")

    html = client.get(PAGE).content.decode()

    assert "$130.00 USD paid after a refund of $50.00 USD" in html


def test_page_is_for_members_who_signed_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response["Location"]


# --- Receipt downloads --------------------------------------------------------------------------


def test_receipt_download_is_a_private_pdf_with_her_session(client, signed_in, therapist):
    appointment = past_session(member=signed_in, therapist=therapist)
    pay(appointment=appointment, amount="180.00")

    response = client.get(_receipt_url(appointment))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="bloom-receipt-')
    text = pdf_text(response.content)
    assert "Billed to: Maya Member" in text and "NPI: 1234567893" in text
    local = timezone.localtime(appointment.starts_at, datetime.timezone(datetime.timedelta(hours=-5)))
    assert f"Date of service: {local:%A, %B %-d, %Y}" in text and ("(EST)" in text or "(EDT)" in text)


def test_another_members_receipt_is_a_404(client, signed_in, therapist):
    theirs = past_session(member=UserFactory(), therapist=therapist)
    pay(appointment=theirs, amount="180.00")

    response = client.get(_receipt_url(theirs))

    assert response.status_code == 404 and b"%PDF" not in response.content


def test_a_session_with_only_a_hold_has_no_receipt(client, signed_in, therapist):
    appointment = past_session(member=signed_in, therapist=therapist, status=AppointmentStatus.SCHEDULED, days_ago=-2)
    AppointmentPaymentFactory(appointment=appointment)  # authorised, not captured

    assert client.get(_receipt_url(appointment)).status_code == 404


def test_a_no_show_fee_receipt_downloads(client, signed_in, therapist):
    appointment = past_session(member=signed_in, therapist=therapist, status=AppointmentStatus.NO_SHOW)
    pay(appointment=appointment, amount="75.00", kind="appointment_no_show_fee")

    text = pdf_text(client.get(_receipt_url(appointment)).content)

    assert "No-show fee" in text and "$75.00 USD" in text and "CPT" not in text


# --- Superbill downloads ------------------------------------------------------------------------


def _range(days: int = 60) -> dict:
    today = timezone.localdate()
    return {"start": (today - datetime.timedelta(days=days)).isoformat(), "end": today.isoformat()}


def test_superbill_download_for_the_range_she_picked(client, signed_in, therapist):
    coded = past_session(member=signed_in, therapist=therapist, days_ago=20)
    pay(appointment=coded, amount="180.00")
    past_session(member=signed_in, therapist=therapist, days_ago=10, service_code="", diagnosis_codes=[])
    past_session(member=signed_in, therapist=therapist, days_ago=90)  # before the range

    response = client.get(SUPERBILL, _range(30))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="bloom-superbill-')
    text = pdf_text(response.content)
    assert "Name: Maya Member" in text and "F53.0" in text
    assert "No codes entered for this session yet: ask your therapist to add them." in text
    assert text.count("90837") == 1  # the uncoded session shows "-"; the one before the range is left out


def test_superbill_for_a_range_without_sessions_is_a_kind_message_not_an_empty_pdf(client, signed_in, therapist):
    past_session(member=signed_in, therapist=therapist, days_ago=5, status=AppointmentStatus.NO_SHOW)
    past_session(member=UserFactory(), therapist=therapist, days_ago=5)

    response = client.get(SUPERBILL, _range(30))

    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "You have no attended sessions between" in html and "Try a wider range of days." in html


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-13-40", "end": "2026-02-01"}, "start", "Please enter a date like 2026-01-31."),
        ({"start": "", "end": "2026-02-01"}, "start", "Please enter the first day to include."),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "end", "The last day is before the first day."),
        ({"start": "2024-01-01", "end": "2026-02-01"}, "end", "A superbill covers at most one year."),
        ({"start": "2999-01-01", "end": "2999-02-01"}, "start", "The first day is after today"),
    ],
)
def test_superbill_range_mistakes_show_the_page_with_the_error_and_what_she_typed(
    client, signed_in, params, field, message
):
    response = client.get(SUPERBILL, params)

    html = response.content.decode()
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert message in html and 'aria-invalid="true"' in html
    assert f'id="id_{field}_error"' in html
    for value in params.values():
        if value:
            assert f'value="{value}"' in html
    assert "Please check the dates below; what you typed is kept." in html


# --- Query counts -------------------------------------------------------------------------------


def _grow(member, therapist, n: int) -> None:
    for days in range(n):
        appointment = past_session(member=member, therapist=TherapistProfileFactory(), days_ago=5 + days)
        refund(payment=pay(appointment=appointment, amount="180.00"), amount="10.00")
        fee = past_session(member=member, therapist=therapist, days_ago=40 + days, status=AppointmentStatus.NO_SHOW)
        pay(appointment=fee, amount="50.00", kind="appointment_no_show_fee")
        other = past_session(member=UserFactory(), therapist=therapist, days_ago=5 + days)
        pay(appointment=other, amount="180.00")


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        # session, user with profile; her payments, refunds, charge ids, cards; estimates (the bell's count is kept)
        (PAGE, None, 7),
        # session, user with her profile (time zone); the session's payments, refunds, charge ids, cards
        ("receipt", None, 6),
        # session, user with her profile (time zone); her sessions in the range, their session fees
        (SUPERBILL, "range", 4),
    ],
)
def test_query_counts_are_pinned_and_do_not_grow(client, signed_in, therapist, url, params, expected):
    first = past_session(member=signed_in, therapist=therapist, days_ago=3)
    pay(appointment=first, amount="180.00")
    if url == "receipt":
        url = _receipt_url(first)
    query = _range(120) if params == "range" else None

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert response.status_code == 200
        return len(queries)

    client.get(url, query)  # warm the session
    small = count()
    _grow(signed_in, therapist, 3)
    assert (small, count()) == (expected, expected)
