"""The admin home, "what needs me today" (bloom/admin_home.py, each app's admin_home.py): the cards
each role sees, their counts, the filtered list each link opens, and a query count that does not
grow with the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.admin_home import a_month_before
from accounts.models import UserProfile
from billing.models import RefundStatus
from notifications.models import EmailStatus
from tests.appointments.support_workspace import staff_login
from tests.factories.accounts import DataRequestFactory, RiskAlertFactory, UserFactory
from tests.factories.appointments import AppointmentDataFactory, TherapistProfileFactory
from tests.factories.billing import PaymentIntentFactory, RefundRequestFactory, StripeWebhookEventFactory
from tests.factories.notifications import EmailQueueFactory
from tests.factories.workshops import WorkshopFactory, WorkshopRegistrationFactory, WorkshopWaitlistEntryFactory

pytestmark = pytest.mark.django_db

# One query per card the owner may see (10: the three webhook cards count even when empty), the
# reader's role (read once, for the risk card's row scope), the care-team check of the sessions
# card, and the page's own 8 (session, user, profile, two permission reads, unread notices, recent
# actions, the admin session's last-seen update).
OWNER_HOME_QUERIES = 19


@pytest.fixture(autouse=True)
def _no_staff_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests


def seed(n: int, *, therapist=None) -> None:
    """`n` rows behind every card: alerts, refunds, disputes, data requests due in 3 days, failed
    and stuck email, failed Stripe events, workshops this week with a seat taken and a waitlist, today's sessions."""
    now = timezone.now()
    for _ in range(n):
        RiskAlertFactory()
        RefundRequestFactory()
        PaymentIntentFactory(paid=True, disputed=True)
        DataRequestFactory(requested_at=a_month_before(now + timedelta(days=3)))
        EmailQueueFactory(status=EmailStatus.FAILED, last_error="550 mailbox unavailable")
        EmailQueueFactory(status=EmailStatus.PENDING, scheduled_at=now - timedelta(hours=1))
        StripeWebhookEventFactory(error_message="KeyError: 'customer'")
        workshop = WorkshopFactory(starts_at=now + timedelta(days=2), capacity=10)
        WorkshopRegistrationFactory(workshop=workshop)
        WorkshopWaitlistEntryFactory(workshop=workshop)
        starts = now  # today in every reader's time zone
        AppointmentDataFactory(
            therapist=therapist or TherapistProfileFactory(), starts_at=starts, ends_at=starts + timedelta(minutes=50)
        )


def cards(response) -> dict[str, list]:
    return {shown.card.key: shown.lines for shown in response.context["home_cards"]}


def counts(response) -> dict[str, list]:
    return {key: [line.count for line in lines] for key, lines in cards(response).items()}


def test_the_owner_sees_every_card_with_its_counts():
    owner = staff_login("owner")
    seed(1)
    response = owner.get("/admin/")
    assert response.status_code == 200
    assert counts(response) == {
        "risk-alerts": [1],  # open; none escalated, so that line is left out
        "sessions-today": [1],
        "refunds": [1],
        "disputes": [1],
        "data-requests": [1],  # due within 7 days; none overdue
        "email": [1, 1],
        "workshops-soon": [None, None],
        "webhooks-stripe": [1],
    }
    workshop_line = cards(response)["workshops-soon"][1].label
    assert "9 of 10 seats left, 1 on the waitlist" in workshop_line
    assert b"Nothing needs you right now" not in response.content
    assert b"1 waiting for a clinician" in response.content


def test_every_link_opens_a_list_filtered_to_what_the_card_counted():
    owner = staff_login("owner")
    seed(2)
    home = cards(owner.get("/admin/"))
    for key, lines in home.items():
        if key == "sessions-today":
            continue  # not a changelist: below
        for line in lines:
            page = owner.get(line.url)
            assert page.status_code == 200, line.url
            assert page.context["cl"].has_active_filters, line.url
            # Counted lines: their count. Workshops: the two workshops, then each one's two registrations.
            assert page.context["cl"].result_count == (line.count if line.count is not None else 2), line.url
    # Today's sessions open the practice calendar's day with both sessions on it.
    calendar = owner.get(home["sessions-today"][0].url).context["calendar"]
    assert calendar.view == "day"
    assert sum(len(cell) for row in calendar.rows for cell in row.cells) == 2


def test_escalated_alerts_have_their_own_line_and_acknowledged_ones_none():
    owner = staff_login("owner")
    RiskAlertFactory(escalated_at=timezone.now())
    RiskAlertFactory()
    done = RiskAlertFactory()
    type(done).objects.filter(pk=done.pk).update(acknowledged_at=timezone.now(), acknowledged_by=owner.user)
    waiting, escalated = cards(owner.get("/admin/"))["risk-alerts"]
    assert (waiting.count, escalated.count) == (2, 1)
    assert owner.get(escalated.url).context["cl"].result_count == 1


def test_the_overdue_line_and_its_filter():
    owner = staff_login("owner")
    DataRequestFactory(requested_at=timezone.now() - timedelta(days=40))
    DataRequestFactory(requested_at=timezone.now() - timedelta(days=2))  # due in about four weeks
    response = owner.get("/admin/")
    (line,) = cards(response)["data-requests"]
    assert (line.count, line.label) == (1, "1 past the one-month deadline")
    assert owner.get(line.url).context["cl"].result_count == 1


def test_a_clinician_sees_risk_alerts_and_her_own_sessions_only():
    clinician = staff_login("clinician")
    mine = TherapistProfileFactory(user=clinician.user)
    seed(1, therapist=mine)
    seed(1)  # a colleague's session, and more of everything else
    response = clinician.get("/admin/")
    # Neither seeded alert is about her client or routed to her: her list would show none, so no card.
    assert counts(response) == {"sessions-today": [1], "workshops-soon": [None, None, None]}
    assert cards(response)["sessions-today"][0].url == "/admin/appointments/therapistprofile/workspace/"

    client_of_hers = UserFactory()
    UserProfile.objects.filter(user=client_of_hers).update(care_clinician=clinician.user)
    RiskAlertFactory(user=client_of_hers)
    RiskAlertFactory(assigned_clinician=clinician.user)  # routed to her, about someone else's client
    response = clinician.get("/admin/")
    assert counts(response)["risk-alerts"] == [2]
    listed = clinician.get(cards(response)["risk-alerts"][0].url)
    assert listed.context["cl"].result_count == 2, "the card counts what her filtered list shows"


def test_a_content_editor_sees_no_care_or_money_card():
    editor = staff_login("content_editor")
    seed(1)
    assert set(cards(editor.get("/admin/"))) == {"workshops-soon"}


def test_support_sees_refunds_data_requests_and_email_but_no_care():
    support = staff_login("support")
    seed(1)
    assert set(cards(support.get("/admin/"))) == {
        "refunds",
        "disputes",
        "data-requests",
        "email",
        "workshops-soon",
        "webhooks-stripe",
        "sessions-today",
    }


def test_nothing_to_do_says_so():
    owner = staff_login("owner")
    RefundRequestFactory(status=RefundStatus.REFUNDED)  # done: not counted
    response = owner.get("/admin/")
    assert response.context["home_cards"] == []
    assert b"Nothing needs you right now." in response.content


def test_the_home_costs_the_same_queries_with_1_or_50_rows_of_everything():
    owner = staff_login("owner")
    seed(1)
    owner.get("/admin/")  # warm the permission and content-type caches
    with CaptureQueriesContext(connection) as one:
        owner.get("/admin/")
    seed(49)
    with CaptureQueriesContext(connection) as fifty:
        response = owner.get("/admin/")
    assert counts(response)["refunds"] == [50]
    assert len(one) == len(fifty) == OWNER_HOME_QUERIES, "\n".join(q["sql"][:150] for q in fifty.captured_queries)


def test_webhook_cards_count_failed_and_long_waiting_events_per_provider():
    owner = staff_login("owner")
    StripeWebhookEventFactory(error_message="boom")
    old = StripeWebhookEventFactory()
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    StripeWebhookEventFactory()  # just arrived: the worker has it
    StripeWebhookEventFactory(processed=True)
    response = owner.get("/admin/")
    failed, waiting = cards(response)["webhooks-stripe"]
    assert (failed.count, waiting.count) == (1, 1)
    assert waiting.label == "1 waiting more than 5 minutes"
    assert owner.get(waiting.url).context["cl"].result_count == 1
    assert "webhooks-zoom" not in cards(response)


def test_a_member_gets_no_admin_home():
    member = UserFactory()
    from django.test import Client

    client = Client()
    client.force_login(member)
    response = client.get("/admin/")
    assert response.status_code in (302, 403)


def test_seed_demo_gives_a_newcomer_a_home_with_something_in_each_main_card(client):
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import User

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    client.force_login(User.objects.get(email="owner@bloom.test"))
    found = counts(client.get("/admin/"))
    assert found["risk-alerts"] == [1]
    assert found["refunds"] == [1]
    assert found["data-requests"] == [1]  # due in 3 days
    assert found["email"][0] == 1  # failed


def test_today_is_the_readers_day_not_utcs():
    import zoneinfo

    from accounts.services import member_records_ensure

    owner = staff_login("owner")
    profile = member_records_ensure(user=owner.user)
    profile.timezone = "Pacific/Kiritimati"  # UTC+14
    profile.save(update_fields=["timezone"])
    zone = zoneinfo.ZoneInfo("Pacific/Kiritimati")
    midnight = timezone.localtime(timezone.now(), zone).replace(hour=0, minute=0, second=0, microsecond=0)
    therapist = TherapistProfileFactory()
    # A minute either side of her midnight: one UTC date for both (10:00 UTC), so a UTC day counts 0 or 2.
    for starts in (midnight - timedelta(minutes=1), midnight + timedelta(minutes=1)):
        AppointmentDataFactory(therapist=therapist, starts_at=starts, ends_at=starts + timedelta(minutes=50))
    assert counts(owner.get("/admin/"))["sessions-today"] == [1]


def test_seed_demo_refreshes_the_reporting_views_so_reports_show_the_demo_at_once():
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "reporting views refreshed" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM report_campaign_engagement")
        assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize(
    "role", ["owner", "clinician", "on_call", "practice_manager", "billing", "content_editor", "support"]
)
def test_every_line_on_a_roles_home_opens_a_page_she_may_see(role):
    """A line links only where its reader is let in (a manager sees the week's workshops but not
    their registrations, so her lines open the workshop itself)."""
    login = staff_login(role)
    seed(1)
    shown = cards(login.get("/admin/"))
    assert shown, "every role has at least the workshops card"
    for key, lines in shown.items():
        for line in lines:
            assert login.get(line.url).status_code == 200, f"{role}: {key} line {line.label!r} -> {line.url}"
