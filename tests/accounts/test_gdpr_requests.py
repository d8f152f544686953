"""Carrying out data requests: the confirmation page, deadlines and reminders, the member told,
the export zip, and the gdpr_export / gdpr_erase commands."""

import datetime
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AdminActivityLog, DataRequest
from accounts.services import data_request_deadline, data_request_reminders_send
from notifications.models import EmailQueue
from tests.factories import accounts as af
from tests.factories import content as cf

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False
    client.force_login(af.UserFactory(is_staff=True, is_superuser=True))
    return client


def test_carry_out_asks_first_and_warns_that_erasure_is_final(admin_client):
    request_row = af.DataRequestFactory(kind="delete")
    selection = {"action": "process_requests", "_selected_action": [str(request_row.pk)]}
    page = admin_client.post(reverse("admin:accounts_datarequest_changelist"), selection).content.decode()
    assert "Carry out these data requests?" in page
    assert "cannot be undone" in page
    request_row.refresh_from_db()
    assert request_row.status == "pending"

    admin_client.post(reverse("admin:accounts_datarequest_changelist"), {**selection, "confirm": "yes"})
    request_row.refresh_from_db()
    assert request_row.status == "completed"
    assert request_row.user.email.endswith("@deleted.invalid")


def test_deadline_is_one_month_after_receipt_and_the_list_flags_overdue(admin_client):
    received = datetime.datetime(2026, 1, 31, 10, tzinfo=datetime.UTC)
    row = af.DataRequestFactory()
    DataRequest.objects.filter(pk=row.pk).update(requested_at=received)
    row.refresh_from_db()
    assert data_request_deadline(data_request=row).date() == datetime.date(2026, 2, 28)
    page = admin_client.get(reverse("admin:accounts_datarequest_changelist")).content.decode()
    assert "overdue by" in page


def test_staff_are_reminded_once_a_day_before_the_deadline(settings):
    settings.BLOOM_DATA_REQUEST_REMINDER_DAYS = 7
    owner = af.StaffUserFactory(is_superuser=True)
    soon, later = af.DataRequestFactory(), af.DataRequestFactory()
    now = timezone.now()
    DataRequest.objects.filter(pk=soon.pk).update(requested_at=now - datetime.timedelta(days=25))
    DataRequest.objects.filter(pk=later.pk).update(requested_at=now - datetime.timedelta(days=2))
    assert data_request_reminders_send() == 1
    assert data_request_reminders_send() == 1  # the same reminder, not a second email
    reminder = EmailQueue.objects.get(to_email=owner.email)
    assert "data request is due soon" in reminder.subject
    assert str(soon.pk) in reminder.text_body and str(later.pk) not in reminder.text_body


def test_export_is_a_zip_with_every_model_her_files_and_a_summary(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    from accounts.services import data_request_process

    member = af.UserFactory(first_name="Ines")
    client.force_login(member)
    cf.CareerApplicationFactory(email=member.email.upper(), cover_letter="Hire me")
    cf.ContactSubmissionFactory(email=member.email, message="A question")
    request_row = data_request_process(data_request=af.DataRequestFactory(user=member), staff_user=None)
    told = EmailQueue.objects.get(to_email=member.email, subject="Your Bloom data export is ready")
    assert "signed in" in told.text_body

    response = client.get(reverse("accounts:data_request_download", args=[request_row.pk]))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert "records/content.CareerApplication.json" in names and "records/appointments.AppointmentData.json" in names
    assert json.loads(archive.read("records/content.ContactSubmission.json"))[0]["message"] == "A question"
    assert any(name.startswith("files/content.CareerApplication/") for name in names)
    summary = archive.read("summary.html").decode()
    assert "Contact submissions" in summary or "contact" in summary.lower()
    assert "password" not in archive.read("records/accounts.User.json").decode()


def test_gdpr_erase_asks_for_the_address_and_audits(monkeypatch):
    member = af.UserFactory(email="rosa@example.test")
    monkeypatch.setattr("builtins.input", lambda prompt: "someone-else@example.test")
    with pytest.raises(CommandError, match="does not match"):
        call_command("gdpr_erase", "--email", "rosa@example.test", stdout=io.StringIO())
    member.refresh_from_db()
    assert member.is_active

    monkeypatch.setattr("builtins.input", lambda prompt: "ROSA@example.test")
    out = io.StringIO()
    call_command("gdpr_erase", "--email", "rosa@example.test", stdout=out)
    member.refresh_from_db()
    assert not member.is_active and member.email.endswith("@deleted.invalid")
    assert "Erasing her records" in out.getvalue()
    audit = AdminActivityLog.objects.get(object_type="accounts.datarequest")
    assert audit.action == "delete" and audit.changes["via"] == "command"
    assert "rosa" not in json.dumps(audit.changes) + audit.object_repr


def test_gdpr_export_writes_the_zip_and_refuses_an_unknown_address(tmp_path):
    with pytest.raises(CommandError, match="No member has the address"):
        call_command("gdpr_export", "--email", "nobody@example.test", "--out", str(tmp_path / "x.zip"), "--yes")
    member = af.UserFactory()
    af.WellnessEntryFactory(user=member, notes="tired")
    out = tmp_path / "her.zip"
    call_command("gdpr_export", "--email", member.email, "--out", str(out), "--yes", stdout=io.StringIO())
    archive = zipfile.ZipFile(out)
    assert json.loads(archive.read("records/accounts.WellnessEntry.json"))[0]["notes"] == "tired"
    assert AdminActivityLog.objects.filter(object_type="accounts.datarequest", action="view_health").exists()


def test_erasure_clears_her_rate_limit_counters(client):
    from django.core.cache import cache

    from accounts.services import member_anonymize
    from bloom.privacy import privacy_cache_keys

    member = af.UserFactory(email="lena@example.test")
    client.post(reverse("account_reset_password"), {"email": "lena@example.test"})
    keys = privacy_cache_keys(member=member)
    assert any(cache.get(key) for key in keys)  # allauth counted her reset email under a key we know
    member_anonymize(member=member)
    assert not any(cache.get(key) for key in keys)


def test_mentions_are_found_by_email_or_full_name_and_only_her_words_are_redacted():
    from accounts.services import member_anonymize
    from tests.factories.appointments import CalendlyWebhookEventFactory

    member = af.UserFactory(email="ann.lee@example.test", first_name="Ann", last_name="Lee")
    hers = CalendlyWebhookEventFactory(
        event_data={"payload": {"name": "Ann Lee", "first_name": "Ann", "note": "Annual check-in"}}
    )
    stranger = CalendlyWebhookEventFactory(event_data={"payload": {"name": "Ann Smith", "note": "Ann's first visit"}})
    member_anonymize(member=member)
    hers.refresh_from_db()
    stranger.refresh_from_db()
    assert hers.event_data == {"payload": {"name": "[erased]", "first_name": "[erased]", "note": "Annual check-in"}}
    assert stranger.event_data == {"payload": {"name": "Ann Smith", "note": "Ann's first visit"}}


def test_her_security_page_shows_when_we_will_answer(client):
    member = af.UserFactory()
    client.force_login(member)
    row = af.DataRequestFactory(user=member)
    DataRequest.objects.filter(pk=row.pk).update(requested_at=datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC))
    page = client.get(reverse("accounts:security")).content.decode()
    assert "we will answer by 10 Apr 2026" in page


def test_a_member_under_legal_hold_is_not_erased(settings):
    settings.BLOOM_RETENTION_LEGAL_HOLD_EMAILS = ["Held@Example.test"]
    member = af.UserFactory(email="held@example.test")
    with pytest.raises(CommandError, match="legal hold"):
        call_command("gdpr_erase", "--email", "held@example.test", "--yes", stdout=io.StringIO())
    member.refresh_from_db()
    assert member.is_active and member.email == "held@example.test"
    assert DataRequest.objects.get(user=member).status == "pending"
