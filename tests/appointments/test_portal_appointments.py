"""The member's appointment pages: detail (join link, policy, history, documents spot) and the
cancel / reschedule confirmation step before Calendly. Owner only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import telehealth_consent_give
from appointments.models import AppointmentStatus
from tests.factories.appointments import (
    AppointmentDataFactory,
    BookingPolicyAcceptanceFactory,
    TherapistProfileFactory,
)

pytestmark = pytest.mark.django_db

CANCEL_URL = "https://calendly.com/cancellations/ABC"
RESCHEDULE_URL = "https://calendly.com/reschedulings/ABC"


def _session(member, *, hours_ahead: float = 72, policy: bool = True, **kwargs):
    therapist = TherapistProfileFactory(
        display_name="Dr. Ada Hart", late_cancel_fee=Decimal("75.00"), no_show_fee=Decimal("120.00")
    )
    starts_at = (timezone.now() + timedelta(hours=hours_ahead)).replace(microsecond=0)
    acceptance = BookingPolicyAcceptanceFactory(user=member, therapist=therapist, window_hours=24) if policy else None
    fields = {"calendly_cancel_url": CANCEL_URL, "calendly_reschedule_url": RESCHEDULE_URL, **kwargs}
    return AppointmentDataFactory(
        user=member,
        therapist=therapist,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=50),
        policy_acceptance=acceptance,
        **fields,
    )


@pytest.fixture
def logged_in(client, member):
    client.force_login(member)
    return client


def _get(client, name, appointment):
    return client.get(reverse(f"appointments:{name}", args=[appointment.pk]))


def test_detail_shows_therapist_policy_buttons_and_the_documents_spot(logged_in, member):
    appointment = _session(member)
    body = _get(logged_in, "appointment_detail", appointment).content.decode()
    assert "Dr. Ada Hart" in body
    assert "Cancelling less than 24 hours before the session is a late cancellation, with a fee of $75.00 USD" in body
    assert "A missed session has a fee of $120.00 USD" in body
    assert reverse("appointments:appointment_cancel", args=[appointment.pk]) in body
    assert reverse("appointments:appointment_reschedule", args=[appointment.pk]) in body
    assert reverse("appointments:appointment_calendar", args=[appointment.pk]) in body
    assert "Documents: the lead adds receipt" not in body  # a template comment, not shown


def test_the_join_button_appears_only_near_the_session(logged_in, member):
    # She gave her telehealth consent already (tests/accounts/test_consent_marketing_and_telehealth.py).
    telehealth_consent_give(member=member)
    later = _session(member, hours_ahead=3)
    body = _get(logged_in, "appointment_detail", later).content.decode()
    assert later.zoom_meeting_url not in body
    assert "appears here 15 minutes before the session" in body

    soon = _session(member, hours_ahead=0.2)  # twelve minutes ahead
    assert f'href="{soon.zoom_meeting_url}"' in _get(logged_in, "appointment_detail", soon).content.decode()


def test_past_and_cancelled_sessions_show_no_buttons_and_no_join_link(logged_in, member):
    cancelled = _session(member, hours_ahead=0.1, status=AppointmentStatus.CANCELLED)
    past = _session(member, hours_ahead=-3)
    for appointment in (cancelled, past):
        body = _get(logged_in, "appointment_detail", appointment).content.decode()
        assert reverse("appointments:appointment_cancel", args=[appointment.pk]) not in body
        assert reverse("appointments:appointment_reschedule", args=[appointment.pk]) not in body
        assert appointment.zoom_meeting_url not in body


def test_history_says_moved_from_for_each_earlier_booking(logged_in, member):
    first = _session(member, hours_ahead=24, status=AppointmentStatus.RESCHEDULED)
    second = _session(member, hours_ahead=48, status=AppointmentStatus.RESCHEDULED, rescheduled_from=first)
    current = _session(member, hours_ahead=96, rescheduled_from=second)
    body = _get(logged_in, "appointment_detail", current).content.decode()
    assert body.count("Moved from") == 2
    local = timezone.localtime(second.starts_at)
    assert body.index(f"{local:%-d %B %Y}") < body.rindex("Moved from")


def test_a_moved_booking_links_to_where_it_went(logged_in, member):
    old = _session(member, hours_ahead=24, status=AppointmentStatus.RESCHEDULED)
    new = _session(member, hours_ahead=72, rescheduled_from=old)
    body = _get(logged_in, "appointment_detail", old).content.decode()
    assert "This session was moved to" in body and reverse("appointments:appointment_detail", args=[new.pk]) in body
    assert "This session was moved to" not in _get(logged_in, "appointment_detail", new).content.decode()


def test_times_are_in_her_time_zone(logged_in, member):
    member.profile.timezone = "Asia/Tokyo"
    member.profile.save(update_fields=["timezone"])
    appointment = _session(member)
    body = _get(logged_in, "appointment_detail", appointment).content.decode()
    from zoneinfo import ZoneInfo

    local = appointment.starts_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local:%-I:%M} {local:%p}" in body
    assert "Asia/Tokyo" in body


def test_cancel_outside_the_window_says_no_fee_and_continues_to_calendly(logged_in, member):
    appointment = _session(member, hours_ahead=72)
    body = _get(logged_in, "appointment_cancel", appointment).content.decode()
    assert "No fee applies." in body and "more than 24 hours ahead" in body
    assert f'href="{CANCEL_URL}"' in body
    assert "Keep my session as it is" in body


def test_cancel_inside_the_window_names_the_fee_from_her_accepted_policy(logged_in, member):
    appointment = _session(member, hours_ahead=10)
    # The therapist's fee changed since she accepted: her accepted terms decide.
    appointment.therapist.late_cancel_fee = Decimal("300.00")
    appointment.therapist.save()
    body = _get(logged_in, "appointment_cancel", appointment).content.decode()
    assert "A late-cancellation fee of $75.00 USD applies." in body
    assert "$300" not in body
    assert f'href="{CANCEL_URL}"' in body


def test_inside_the_window_without_a_fee_in_her_policy_no_fee_applies(logged_in, member):
    appointment = _session(member, hours_ahead=10)
    appointment.policy_acceptance.late_cancel_fee = None
    appointment.policy_acceptance.save()
    body = _get(logged_in, "appointment_cancel", appointment).content.decode()
    assert "No fee applies." in body and "has no late-cancellation fee" in body


def test_without_an_accepted_policy_no_fee_applies(logged_in, member):
    appointment = _session(member, hours_ahead=10, policy=False)
    body = _get(logged_in, "appointment_cancel", appointment).content.decode()
    assert "No fee applies." in body and "fee of" not in body


def test_reschedule_inside_the_window_says_no_fee(logged_in, member):
    appointment = _session(member, hours_ahead=10)
    body = _get(logged_in, "appointment_reschedule", appointment).content.decode()
    assert "There is no fee for rescheduling." in body
    assert "$75" not in body
    assert f'href="{RESCHEDULE_URL}"' in body


def test_without_a_calendly_link_she_is_told_how_else_to_change_it(logged_in, member):
    appointment = _session(member, calendly_cancel_url="")
    body = _get(logged_in, "appointment_cancel", appointment).content.decode()
    assert "We don't have a Calendly link for this session" in body
    assert "calendly.com/cancellations" not in body


@pytest.mark.parametrize("name", ["appointment_cancel", "appointment_reschedule"])
def test_a_past_or_cancelled_session_cannot_be_changed(logged_in, member, name):
    for appointment in (_session(member, hours_ahead=-2), _session(member, status=AppointmentStatus.CANCELLED)):
        response = _get(logged_in, name, appointment)
        assert response.status_code == 302
        assert response.url == reverse("appointments:appointment_detail", args=[appointment.pk])
        follow = logged_in.get(response.url).content.decode()
        assert "can&#x27;t be changed" in follow or "can't be changed" in follow


@pytest.mark.parametrize("name", ["appointment_detail", "appointment_cancel", "appointment_reschedule"])
def test_another_members_session_is_404(logged_in, name):
    from tests.factories.accounts import UserFactory

    other = _session(UserFactory())
    assert _get(logged_in, name, other).status_code == 404


@pytest.mark.parametrize("name", ["appointment_cancel", "appointment_reschedule"])
def test_the_confirmation_pages_need_login(client, member, name):
    response = _get(client, name, _session(member))
    assert response.status_code == 302 and "login" in response.url


def test_confirmation_page_query_count_is_fixed(logged_in, member, django_assert_num_queries):
    appointment = _session(member, hours_ahead=10)
    url = reverse("appointments:appointment_cancel", args=[appointment.pk])
    logged_in.get(url)
    with django_assert_num_queries(3):  # session, user with profile, the session (the bell's count is kept)
        logged_in.get(url)
