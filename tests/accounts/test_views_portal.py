"""Member portal: dashboard, profile and preferences, security page, data requests, wellness."""

import datetime
import io
import json
import zipfile
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import dashboard
from accounts.models import ConsentRecord, DataRequest, UserPreferences, UserProfile, WellnessEntry
from accounts.services import data_request_process
from tests.factories.accounts import (
    DataRequestFactory,
    StaffUserFactory,
    UserAchievementFactory,
    UserFactory,
    WellnessEntryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return member


@pytest.fixture
def only_accounts_panels(monkeypatch):
    """Other apps register their own panels; pin the dashboard with accounts' panels alone."""
    mine = {key: panel for key, panel in dashboard._panels.items() if key in ("wellness", "notifications", "account")}
    monkeypatch.setattr(dashboard, "_panels", mine)


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_dashboard_shows_friendly_empty_states(client, signed_in, only_accounts_panels):
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert '<h2 id="panel-wellness">Wellness</h2>' in html
    assert "No check-ins yet." in html
    assert '<h2 id="panel-notifications">Notifications</h2>' in html
    assert "Nothing new. We'll let you know here about appointments, courses and workshops." in html
    assert "Your milestones will appear here." in html


def test_dashboard_has_a_panel_with_an_empty_state_for_every_area(client, signed_in):
    """Every app's panel is on the dashboard of a brand-new member, each with an empty state."""
    html = client.get(reverse("accounts:dashboard")).content.decode()
    for key in ("courses", "workshops", "appointments", "wellness", "notifications"):
        assert f'id="panel-{key}"' in html, key
    assert html.count('class="empty"') >= 5


def test_dashboard_lists_the_members_own_notifications_only(client, signed_in, only_accounts_panels):
    from notifications.services import notification_create

    notification_create(member=signed_in, type="test", title="Your workshop starts soon", message="", data={})
    notification_create(member=UserFactory(), type="test", title="Someone else's notice", message="", data={})
    html = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Your workshop starts soon" in html
    assert "Someone else" not in html
    assert "Nothing new." not in html


def test_dashboard_query_count_is_pinned(client, signed_in, only_accounts_panels, django_assert_num_queries):
    from notifications.services import notification_create

    WellnessEntryFactory.create_batch(5, user=signed_in)
    UserAchievementFactory.create_batch(3, user=signed_in)
    for n in range(4):
        notification_create(member=signed_in, type="test", title=f"Notice {n}", message="", data={})
    client.get(reverse("accounts:dashboard"))  # warm the session
    # session, user with her profile (accounts/backends.py), wellness, notifications with the
    # bell's unread count, her pause (the break banner); achievements and weekly consistency are
    # kept in the cache since the first visit (bloom.cache.kept)
    with django_assert_num_queries(5):
        response = client.get(reverse("accounts:dashboard"))
    html = response.content.decode()
    assert html.count("mood 3/5") == 3
    assert html.count("Notice ") == 3
    assert "No check-ins yet." not in html


def test_profile_page_saves_profile_and_syncs_user_names(client, signed_in):
    due = timezone.localdate() + datetime.timedelta(days=60)
    response = client.post(
        reverse("accounts:profile"),
        {
            "form": "profile",
            "profile-first_name": "Rosa",
            "profile-last_name": "Diaz",
            "profile-preferred_name": "Ro",
            "profile-phone": "+1 555 0100",
            "profile-stage": "pregnant",
            "profile-due_date": due.isoformat(),
            "profile-topics": ["relationships"],
            "profile-timezone": "America/New_York",
        },
    )
    assert response.status_code == 302
    profile = UserProfile.objects.get(user=signed_in)
    assert (profile.preferred_name, profile.phone, profile.due_date, profile.timezone) == (
        "Ro",
        "+1 555 0100",
        due,
        "America/New_York",
    )
    signed_in.refresh_from_db()
    assert signed_in.first_name == "Rosa"


def test_profile_bad_input_keeps_typed_values(client, signed_in):
    response = client.post(
        reverse("accounts:profile"),
        {
            "form": "profile",
            "profile-first_name": "Rosa",
            "profile-last_name": "Diaz",
            "profile-stage": "other",
            "profile-timezone": "Nowhere/Town",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "We don&#x27;t recognise the time zone" in html
    assert 'value="Rosa"' in html
    assert UserProfile.objects.get(user=signed_in).first_name != "Rosa"


def test_preferences_change_records_marketing_consent(client, signed_in):
    assert UserPreferences.objects.get(user=signed_in).newsletter is False
    response = client.post(
        reverse("accounts:profile"),
        {
            "form": "preferences",
            "prefs-notification_channel": "portal_and_email",
            "prefs-newsletter": "on",
            "prefs-wellness_reminders": "on",
        },
    )
    assert response.status_code == 302
    preferences = UserPreferences.objects.get(user=signed_in)
    assert (preferences.newsletter, preferences.wellness_reminders, preferences.appointment_reminders) == (
        True,
        True,
        False,
    )
    assert UserProfile.objects.get(user=signed_in).marketing_consent is True
    record = ConsentRecord.objects.get(user=signed_in)
    assert (record.kind, record.granted, record.source) == ("marketing", True, "preferences")
    assert record.purpose  # what she was told it is for

    # Saving again without changing the newsletter choice writes no new consent row.
    client.post(
        reverse("accounts:profile"),
        {"form": "preferences", "prefs-notification_channel": "portal", "prefs-newsletter": "on"},
    )
    assert ConsentRecord.objects.filter(user=signed_in).count() == 1


def test_security_page_links_to_allauth_and_data_requests(client, signed_in):
    html = client.get(reverse("accounts:security")).content.decode()
    for name in ("account_change_password", "account_email", "mfa_index", "accounts:data_request_create"):
        assert f'"{reverse(name)}"' in html


def test_member_requests_an_export_once_and_downloads_it_when_done(client, signed_in):
    WellnessEntryFactory(user=signed_in, notes="private words")
    response = client.post(reverse("accounts:data_request_create"), {"kind": "export"}, follow=True)
    assert "Thank you. Our team will process your request" in response.content.decode()
    again = client.post(reverse("accounts:data_request_create"), {"kind": "export"}, follow=True)
    assert "You already have a request of this kind waiting" in again.content.decode()
    data_request = DataRequest.objects.get(user=signed_in)
    assert data_request.status == "pending"

    # Not downloadable until staff complete it.
    url = reverse("accounts:data_request_download", args=[data_request.pk])
    assert client.get(url).status_code == 404

    data_request_process(data_request=data_request, staff_user=StaffUserFactory())
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment;" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "summary.html" in archive.namelist()
    assert json.loads(archive.read("records/accounts.WellnessEntry.json"))[0]["notes"] == "private words"
    payload = json.loads(archive.read("account.json"))
    assert payload["account"]["email"] == signed_in.email
    assert payload["wellness_entries"][0]["notes"] == "private words"
    assert payload["preferences"]["notification_channel"] == "portal_and_email"


def test_another_members_export_is_a_404(client, signed_in):
    other = DataRequestFactory(user=UserFactory())
    data_request_process(data_request=other, staff_user=StaffUserFactory())
    assert client.get(reverse("accounts:data_request_download", args=[other.pk])).status_code == 404


def test_unknown_request_kind_is_refused(client, signed_in):
    response = client.post(reverse("accounts:data_request_create"), {"kind": "sell"}, follow=True)
    assert "That request type is not available." in response.content.decode()
    assert not DataRequest.objects.exists()


def test_deletion_request_anonymises_the_account(signed_in):
    WellnessEntryFactory(user=signed_in)
    email = signed_in.email
    data_request = DataRequestFactory(user=signed_in, kind="delete")
    done = data_request_process(data_request=data_request, staff_user=StaffUserFactory())

    signed_in.refresh_from_db()
    assert done.status == "completed"
    assert signed_in.email != email
    assert signed_in.email.endswith("@deleted.invalid")
    assert signed_in.is_active is False
    assert not signed_in.has_usable_password()
    assert not WellnessEntry.objects.filter(user=signed_in).exists()
    assert UserProfile.objects.get(user=signed_in).first_name == ""


def test_wellness_page_records_today_and_replaces_on_second_save(client, signed_in):
    url = reverse("accounts:wellness")
    assert "No check-ins yet." in client.get(url).content.decode()
    client.post(url, {"mood": "2", "sleep_hours": "5.5", "anxiety": "4", "energy": "", "notes": "Rough night"})
    client.post(url, {"mood": "4", "sleep_hours": "7", "anxiety": "", "energy": "3", "notes": "Better"})

    entry = WellnessEntry.objects.get(user=signed_in)
    # "Today" is the member's today: their own zone, else the practice's default member zone.
    zone = zoneinfo.ZoneInfo(signed_in.profile.timezone or settings.BLOOM_DEFAULT_MEMBER_TIMEZONE)
    assert entry.entry_date == timezone.localdate(timezone=zone)
    assert (entry.mood, entry.sleep_hours, entry.anxiety, entry.energy, entry.notes) == (
        4,
        Decimal("7.0"),
        None,
        3,
        "Better",
    )
    page = client.get(url).content.decode()
    assert "Update today's check-in" in page
    assert "4/5" in page


def test_wellness_bad_input_is_refused_and_kept(client, signed_in):
    response = client.post(reverse("accounts:wellness"), {"mood": "9", "sleep_hours": "30", "notes": "keep me"})
    html = response.content.decode()
    assert "Select a valid choice." in html
    assert "Ensure this value is less than or equal to 24." in html
    assert "keep me" in html
    assert not WellnessEntry.objects.exists()


def test_wellness_notes_are_encrypted_at_rest(signed_in):
    entry = WellnessEntryFactory(user=signed_in, notes="I felt overwhelmed at 3am")
    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM wellness_entries WHERE id = %s", [entry.pk])
        stored = cursor.fetchone()[0]
    assert "overwhelmed" not in stored
    assert stored.startswith("gAAAA")
    assert WellnessEntry.objects.get(pk=entry.pk).notes == "I felt overwhelmed at 3am"


def test_wellness_page_only_lists_own_entries(client, signed_in):
    WellnessEntryFactory(user=UserFactory(), mood=1, entry_date=timezone.localdate() - datetime.timedelta(days=1))
    assert "1/5" not in client.get(reverse("accounts:wellness")).content.decode()


def test_completed_export_notifies_the_member(signed_in):
    from notifications.models import UserNotification

    data_request_process(data_request=DataRequestFactory(user=signed_in), staff_user=StaffUserFactory())
    notice = UserNotification.objects.get(user=signed_in)
    assert notice.title == "Your data export is ready"


def test_deletion_mails_the_old_address_before_anonymising(signed_in):
    from notifications.models import EmailQueue

    email = signed_in.email
    data_request_process(data_request=DataRequestFactory(user=signed_in, kind="delete"), staff_user=StaffUserFactory())
    queued = EmailQueue.objects.get(to_email=email)
    assert "Your Bloom account has been deleted" in queued.subject
    signed_in.refresh_from_db()
    assert not EmailQueue.objects.filter(to_email=signed_in.email).exists()


def test_user_created_outside_signup_gets_records_and_onboarding(client):
    from accounts.models import User

    user = User.objects.create_user("shell@example.com", "x-Long-password-1")
    client.force_login(user)
    response = client.get(reverse("accounts:dashboard"))
    assert response["Location"] == reverse("accounts:onboarding")
    # She never agreed to the terms and privacy notice: she is asked before anything else.
    assert client.get(reverse("accounts:onboarding"))["Location"].startswith(reverse("accounts:policies_agree"))
    client.post(reverse("accounts:policies_agree"), {"agree": "1"})
    assert client.get(reverse("accounts:onboarding")).status_code == 200
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert UserProfile.objects.filter(user=user).count() == 1
    assert UserPreferences.objects.filter(user=user).count() == 1


def _nav(html: str) -> str:
    start = html.index('<nav class="nav" aria-label="Main">')
    return html[start : html.index("</nav>", start)]


def test_visitor_navigation_offers_sign_up_and_log_in_only(client):
    nav = _nav(client.get(reverse("home")).content.decode())
    assert f'href="{reverse("account_login")}"' in nav
    assert f'href="{reverse("account_signup")}"' in nav
    for name in ("accounts:dashboard", "accounts:profile", "admin:index"):
        assert f'href="{reverse(name)}"' not in nav
    assert "Log out" not in nav


def test_member_navigation_shows_member_pages_and_no_back_office(client, signed_in):
    nav = _nav(client.get(reverse("accounts:dashboard")).content.decode())
    for name in ("accounts:dashboard", "accounts:profile", "notifications:notification_list"):
        assert f'href="{reverse(name)}"' in nav
    assert "Log out" in nav
    assert f'href="{reverse("admin:index")}"' not in nav
    assert f'href="{reverse("account_signup")}"' not in nav


def test_staff_navigation_adds_the_back_office(client):
    client.force_login(StaffUserFactory())
    nav = _nav(client.get(reverse("accounts:dashboard")).content.decode())
    assert f'href="{reverse("admin:index")}"' in nav


def test_deletion_request_needs_an_explicit_confirmation(client, signed_in):
    html = client.get(reverse("accounts:security")).content.decode()
    assert '<label for="confirm-delete">I understand that my account' in html

    refused = client.post(reverse("accounts:data_request_create"), {"kind": "delete"}, follow=True)
    assert "Please tick the box to confirm that you want your account deleted." in refused.content.decode()
    assert not DataRequest.objects.exists()

    client.post(reverse("accounts:data_request_create"), {"kind": "delete", "confirm": "on"})
    assert DataRequest.objects.get(user=signed_in).kind == "delete"


def test_profile_invalid_due_date_is_refused_and_typed_values_kept(client, signed_in):
    past = timezone.localdate() - datetime.timedelta(days=5)
    response = client.post(
        reverse("accounts:profile"),
        {
            "form": "profile",
            "profile-first_name": "Rosa",
            "profile-last_name": "Diaz",
            "profile-stage": "pregnant",
            "profile-due_date": past.isoformat(),
            "profile-timezone": "Europe/Paris",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your due date should be in the future." in html
    assert f'value="{past.isoformat()}"' in html
    assert 'value="Europe/Paris"' in html
    profile = UserProfile.objects.get(user=signed_in)
    assert (profile.due_date, profile.timezone) != (past, "Europe/Paris")


def test_the_member_time_zone_lasts_for_the_request_only(rf):
    """Times show in the member's zone during their request; the zone never leaks to what runs next."""
    from django.contrib.auth.models import AnonymousUser
    from django.utils import timezone as tz

    from accounts.middleware import MemberTimezoneMiddleware

    member = UserFactory()
    UserProfile.objects.filter(user=member).update(timezone="America/Chicago")
    member.refresh_from_db()
    seen = []
    middleware = MemberTimezoneMiddleware(lambda request: seen.append(tz.get_current_timezone_name()))

    request = rf.get("/dashboard/")
    request.user = member
    middleware(request)
    request.user = AnonymousUser()
    middleware(request)

    assert seen == ["America/Chicago", "America/Los_Angeles"]
    assert tz.get_current_timezone_name() == "UTC"


def test_quiet_hours_are_set_on_the_profile_page(client, signed_in):
    page = client.get(reverse("accounts:profile"))
    assert b'name="prefs-quiet_hours_start"' in page.content and b'type="time"' in page.content
    response = client.post(
        reverse("accounts:profile"),
        {
            "form": "preferences",
            "prefs-notification_channel": "portal_and_email",
            "prefs-quiet_hours": "on",
            "prefs-quiet_hours_start": "22:00",
            "prefs-quiet_hours_end": "07:30",
        },
    )
    assert response.status_code == 302
    preferences = UserPreferences.objects.get(user=signed_in)
    assert preferences.quiet_hours is True
    assert (preferences.quiet_hours_start.isoformat(), preferences.quiet_hours_end.isoformat()) == (
        "22:00:00",
        "07:30:00",
    )


def test_quiet_hours_that_start_and_end_together_are_refused_keeping_what_was_typed(client, signed_in):
    response = client.post(
        reverse("accounts:profile"),
        {
            "form": "preferences",
            "prefs-notification_channel": "portal",
            "prefs-quiet_hours": "on",
            "prefs-quiet_hours_start": "22:00",
            "prefs-quiet_hours_end": "22:00",
        },
    )
    assert response.status_code == 200
    assert "Choose an end time different from the start" in response.content.decode()
    assert b'value="22:00"' in response.content
    assert UserPreferences.objects.get(user=signed_in).quiet_hours is False


def test_the_dashboards_kept_reads_show_a_change_at_once(client, signed_in):
    """Achievements and the blog's newest posts are kept in the cache; a new row of each drops
    its key, so the next visit shows it (weekly consistency: tests/courses/test_services_progress.py)."""
    from tests.factories.content import BlogPostFactory

    url = reverse("accounts:dashboard")
    client.get(url)  # fills the cache
    UserAchievementFactory(user=signed_in, title="First check-in kept")
    BlogPostFactory(title="Sleep when the baby sleeps?", published=True)
    html = client.get(url).content.decode()
    assert "First check-in kept" in html
    assert "Sleep when the baby sleeps?" in html
