"""The wellness page: pick any of the last 7 days (today by default), what she typed kept on an
error, clear words for a day too old or in the future; the weekly trend charts with a text
alternative and an empty state, at a fixed query count for 0, 1 and 200 entries; the PDF
summary (hers only, never cached, notes only when asked); sharing with her clinician and what
the clinician then sees in the admin (audited), and nothing once she stops; gentle words;
the demo member's check-ins."""

import datetime
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.urls import reverse

from accounts.models import AdminActivityLog, AdminRole, ConsentRecord, User, WellnessEntry
from accounts.roles import roles_sync_defaults
from accounts.selectors import member_today
from accounts.services import admin_user_role_set
from tests.factories.accounts import AdminUserFactory, StaffUserFactory, UserFactory, WellnessEntryFactory

pytestmark = pytest.mark.django_db

URL = "/wellness/"
GUILT = re.compile(r"you missed|don'?t lose|streak|you forgot|falling behind", re.IGNORECASE)


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return member


def _today(member) -> datetime.date:
    return member_today(profile=member.profile)


def _ago(member, days: int) -> datetime.date:
    return _today(member) - datetime.timedelta(days=days)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Picking a day --------------------------------------------------------------------------


def test_the_form_is_for_today_by_default(client, signed_in):
    response = client.get(URL)
    assert response.context["form"].initial["entry_date"] == _today(signed_in)
    assert "How are you today?" in response.content.decode()


def test_picking_a_past_day_shows_that_days_check_in_to_edit(client, signed_in):
    WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 3), mood=2, support=5, notes="rainy")
    response = client.get(URL, {"day": _ago(signed_in, 3).isoformat()})
    form = response.context["form"]
    assert (form.initial["entry_date"], form.initial["mood"], form.initial["support"]) == (
        _ago(signed_in, 3),
        2,
        5,
    )
    assert "rainy" in response.content.decode() and "Update your check-in for" in response.content.decode()


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (8, "Check-ins can be added or changed for today and the 7 days before it."),
        (-2, "That day hasn't happened yet."),
        (None, "That doesn't look like a date"),
    ],
)
def test_a_day_she_cannot_pick_says_why_and_shows_today(client, signed_in, day, words):
    value = "not-a-date" if day is None else _ago(signed_in, day).isoformat()
    response = client.get(URL, {"day": value})
    assert any(words in m for m in _messages(response))
    assert response.context["day"] == _today(signed_in)


def test_back_filling_a_day_saves_it_for_that_day(client, signed_in):
    day = _ago(signed_in, 6)
    response = client.post(URL, {"entry_date": day.isoformat(), "mood": "3", "support": "2", "notes": "late entry"})
    assert response.status_code == 302 and response["Location"] == URL
    entry = WellnessEntry.objects.get(user=signed_in)
    assert (entry.entry_date, entry.mood, entry.support, entry.notes) == (day, 3, 2, "late entry")
    assert f"Your check-in for {day:%A %-d %B} is saved." in _messages(client.get(URL))


def test_editing_a_past_day_replaces_it(client, signed_in):
    day = _ago(signed_in, 2)
    WellnessEntryFactory(user=signed_in, entry_date=day, mood=1, notes="first")
    client.post(URL, {"entry_date": day.isoformat(), "mood": "4", "notes": "second thoughts"})
    entry = WellnessEntry.objects.get(user=signed_in)
    assert (entry.mood, entry.notes) == (4, "second thoughts")


@pytest.mark.parametrize(
    ("days_ago", "words"),
    [(8, "Check-ins can be added or changed for today and the 7 days before it."), (-1, "hasn&#x27;t happened yet")],
)
def test_a_day_outside_the_window_keeps_what_she_typed(client, signed_in, days_ago, words):
    response = client.post(
        URL,
        {"entry_date": _ago(signed_in, days_ago).isoformat(), "mood": "2", "support": "4", "notes": "keep my words"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert words in html
    assert "keep my words" in html
    assert response.context["form"]["support"].value() == "4"
    assert not WellnessEntry.objects.exists()


def test_an_edit_with_risk_words_shows_the_resources(client, signed_in):
    day = _ago(signed_in, 1)
    WellnessEntryFactory(user=signed_in, entry_date=day, notes="ok")
    response = client.post(URL, {"entry_date": day.isoformat(), "mood": "1", "notes": "I want to harm myself"})
    assert response["Location"] == reverse("accounts:screening_support")
    assert signed_in.risk_alerts.count() == 1


# --- Charts ---------------------------------------------------------------------------------


def test_no_check_ins_shows_an_empty_state_and_no_chart(client, signed_in):
    html = client.get(URL).content.decode()
    assert "No check-ins yet." in html
    assert "<svg" not in html


def test_one_check_in_draws_both_charts_with_a_text_alternative(client, signed_in):
    WellnessEntryFactory(user=signed_in, entry_date=_today(signed_in), mood=4, anxiety=2, sleep_hours=Decimal("6.5"))
    html = client.get(URL).content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert 'aria-labelledby="wellness-ratings-title wellness-ratings-desc"' in html
    assert "1 check-in in the week of" in html  # the summary sentence (desc and caption)
    assert "mood 4" in html and "sleep 6.5 h" in html
    assert re.search(r"<td>4\.0</td>\s*<td>2\.0</td>", html)  # the weekly table
    ratings = re.search(r"<svg[^>]*wellness-ratings-title.*?</svg>", html, re.S).group(0)
    week_labels = re.findall(r'font-size="11" text-anchor="(?:middle|end)" fill="#1f2a37">([^<]+)</text>', ratings)[5:]
    assert len(week_labels) == 6 and week_labels[-1] == "This week"  # every other week, back from this one


def test_a_week_without_check_ins_is_a_gap_not_a_zero(client, signed_in):
    for weeks_ago in (0, 1, 3):  # this week and last week, then nothing the week before
        WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 7 * weeks_ago), mood=3)
    html = client.get(URL).content.decode()
    ratings = re.search(r"<svg[^>]*wellness-ratings-title.*?</svg>", html, re.S).group(0)
    mood_lines = re.findall(r'<polyline points="([^"]+)" fill="none" stroke="#7a3e6b"', ratings)
    assert len(mood_lines) == 1 and len(mood_lines[0].split()) == 2  # only the two neighbouring weeks are joined
    assert ratings.count('fill="#7a3e6b"><title>Mood 3') == 3  # a marker for each week with a check-in


@pytest.mark.parametrize("count", [0, 1, 200])
def test_the_page_renders_with_a_fixed_number_of_queries(client, signed_in, count, django_assert_num_queries):
    today = _today(signed_in)
    WellnessEntry.objects.bulk_create(
        WellnessEntry(user=signed_in, entry_date=today - datetime.timedelta(days=n), mood=n % 5 + 1, support=3)
        for n in range(count)
    )
    client.get(URL)  # warm the session
    # 6 when she has an upcoming session (one clinician lookup, not two); her profile comes with her
    # user (her assigned clinician too: none here), and the bell's count is kept from the first visit
    with django_assert_num_queries(7):
        response = client.get(URL)
    assert response.status_code == 200
    assert ("<svg" in response.content.decode()) == (count > 0)


# --- The PDF summary ------------------------------------------------------------------------


def test_the_summary_is_a_pdf_never_cached_and_leaves_notes_out(client, signed_in):
    WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 1), mood=4, notes="Private garden thoughts")
    response = client.get(reverse("accounts:wellness_summary"), {"weeks": "4"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="bloom-wellness-')
    body = response.content
    assert body.startswith(b"%PDF") and b"Wellness check-in summary" in body
    assert b"Mood: 4.0" in body
    assert b"Private garden thoughts" not in body and b"My notes" not in body


def test_the_summary_has_her_notes_when_she_ticks_the_box(client, signed_in):
    WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 1), notes="Private garden thoughts")
    WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 60), notes="Too long ago")
    body = client.get(reverse("accounts:wellness_summary"), {"weeks": "4", "notes": "on"}).content
    assert b"My notes" in body and b"Private garden thoughts" in body
    assert b"Too long ago" not in body


def test_the_summary_is_only_ever_hers(client, signed_in):
    WellnessEntryFactory(user=UserFactory(), entry_date=_ago(signed_in, 1), mood=1, notes="Someone else's words")
    body = client.get(reverse("accounts:wellness_summary"), {"weeks": "12", "notes": "on"}).content
    assert b"Someone else" not in body
    assert b"0 check-ins in this period" in body


def test_the_summary_needs_a_sign_in(client):
    response = client.get(reverse("accounts:wellness_summary"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_period_falls_back_to_four_weeks(client, signed_in):
    WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 50), mood=5)
    body = client.get(reverse("accounts:wellness_summary"), {"weeks": "999"}).content
    assert b"0 check-ins in this period" in body


# --- Sharing with her clinician -------------------------------------------------------------


@pytest.fixture
def clinician_client(client, db):
    from django.test import Client

    roles_sync_defaults()
    user = StaffUserFactory()
    admin_user_role_set(admin_user=AdminUserFactory(user=user), role=AdminRole.objects.get(slug="clinician"))
    staff = Client()
    staff.force_login(user)
    staff.user = user
    return staff


def test_sharing_then_revoking_records_consents_and_fences_the_admin(client, signed_in, clinician_client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    signed_in.profile.care_clinician = clinician_client.user  # her own clinician
    signed_in.profile.save()
    entry = WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 1), notes="Tell my therapist")
    change_url = reverse("admin:accounts_wellnessentry_change", args=[entry.pk])
    list_url = reverse("admin:accounts_wellnessentry_changelist")

    assert signed_in.email not in clinician_client.get(list_url).content.decode()
    assert clinician_client.get(change_url).status_code == 302  # "doesn't exist": back to the admin index
    assert not AdminActivityLog.objects.exists()

    response = client.post(reverse("accounts:wellness_share"), {"shared": "yes"})
    assert response["Location"] == URL
    assert "Stop sharing my check-ins" in client.get(URL).content.decode()
    assert signed_in.email in clinician_client.get(list_url).content.decode()
    detail = clinician_client.get(change_url)
    assert detail.status_code == 200 and "Tell my therapist" in detail.content.decode()
    read = AdminActivityLog.objects.get()
    assert (read.action, read.object_id, read.user) == ("view_health", str(entry.pk), clinician_client.user)

    client.post(reverse("accounts:wellness_share"), {"shared": "no"})
    assert "Share my check-ins with my clinician" in client.get(URL).content.decode()
    assert signed_in.email not in clinician_client.get(list_url).content.decode()
    after = clinician_client.get(change_url)
    assert after.status_code == 302 and "Tell my therapist" not in after.content.decode()
    assert AdminActivityLog.objects.count() == 1
    assert list(
        ConsentRecord.objects.filter(user=signed_in, source="wellness_share")
        .order_by("created_at")
        .values_list("granted", flat=True)
    ) == [True, False]


def test_sharing_is_post_only(client, signed_in):
    assert client.get(reverse("accounts:wellness_share")).status_code == 405
    assert not ConsentRecord.objects.filter(source="wellness_share").exists()


# --- Words and demo -------------------------------------------------------------------------


def test_the_page_never_uses_guilt_words(client, signed_in):
    WellnessEntryFactory(user=signed_in, entry_date=_ago(signed_in, 10))
    html = client.get(URL).content.decode()
    assert not GUILT.search(html)
    assert "Add a check-in" in html


def test_the_demo_member_has_shared_check_ins_over_several_weeks(client):
    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    maya = User.objects.get(email="member@bloom.test")
    days = sorted(maya.wellness_entries.values_list("entry_date", flat=True))
    assert len(days) >= 28 and (days[-1] - days[0]).days >= 5 * 7
    assert maya.wellness_entries.filter(support__isnull=False).count() == len(days)
    wellness_share_active = ConsentRecord.objects.filter(user=maya, source="wellness_share").get().granted
    assert wellness_share_active is True
    client.force_login(maya)
    html = client.get(URL).content.decode()
    assert html.count('class="screening-chart wellness-chart"') == 2
    call_command("seed_demo", stdout=StringIO())  # run again: nothing doubled
    assert maya.wellness_entries.count() == len(days)
