"""Subscriber and campaign lists as CSV: export, and an import that keeps consent (double opt-in)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from content.models import CampaignStatus, Subscriber, SubscriberStatus
from content.selectors import segment_recipient_list
from content.services import subscriber_csv
from notifications.models import EmailCampaignMetric, EmailQueue
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

HEADER = "email,first_name,status,consent_source,consent_date,consent_proof\n"
FILE = HEADER + (
    "proof@example.org,Pia,confirmed,paper form,2025-03-01,Signed form in the Pasadena binder (p. 4)\n"
    "noproof@example.org,Nia,confirmed,,,\n"
    "plain@example.org,,,,,\n"
    "gone@example.org,,unsubscribed,,,\n"
    "not-an-address,,,,,\n"
    "PLAIN@example.org,,,,,\n"
    "future@example.org,,confirmed,fair,2999-01-01,badge scan\n"
    "known@example.org,,confirmed,fair,2025-01-01,badge scan\n"
    "left@example.org,,,,,\n"
)


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_plan_says_what_each_row_would_do_and_writes_nothing():
    SubscriberFactory(email="known@example.org")
    SubscriberFactory(email="left@example.org", status=SubscriberStatus.UNSUBSCRIBED, confirmed_at=None)
    plan = subscriber_csv.subscriber_import_plan(text=FILE)
    actions = {(row.line, row.email): row.action for row in plan.rows}
    assert actions == {
        (2, "proof@example.org"): "confirm",
        (3, "noproof@example.org"): "opt_in",
        (4, "plain@example.org"): "opt_in",
        (5, "gone@example.org"): "opt_out",
        (6, "not-an-address"): "error",
        (7, "plain@example.org"): "error",
        (8, "future@example.org"): "error",
        (9, "known@example.org"): "leave",
        (10, "left@example.org"): "leave",
    }
    assert Subscriber.objects.count() == 2 and not EmailQueue.objects.exists()


def test_apply_carries_consent_with_proof_and_double_opts_in_the_rest():
    SubscriberFactory(email="left@example.org", status=SubscriberStatus.UNSUBSCRIBED, confirmed_at=None)
    subscriber_csv.subscriber_import_apply(text=FILE)

    proof = Subscriber.objects.get(email="proof@example.org")
    assert proof.status == SubscriberStatus.CONFIRMED and proof.source == "paper form"
    assert proof.consent_proof.startswith("Signed form") and proof.confirmed_at.date().isoformat() == "2025-03-01"

    for email in ("noproof@example.org", "plain@example.org"):
        assert Subscriber.objects.get(email=email).status == SubscriberStatus.PENDING
    confirmations = EmailQueue.objects.filter(template_key="content/subscriber_confirm")
    assert sorted(confirmations.values_list("to_email", flat=True)) == ["noproof@example.org", "plain@example.org"]
    assert Subscriber.objects.get(email="gone@example.org").status == SubscriberStatus.UNSUBSCRIBED
    assert Subscriber.objects.get(email="left@example.org").status == SubscriberStatus.UNSUBSCRIBED
    assert not Subscriber.objects.filter(email__in=["not-an-address", "future@example.org"]).exists()
    # Only the addresses with proof reach a campaign until the others confirm.
    reached = segment_recipient_list(segment=None).values_list("email", flat=True)
    assert sorted(reached) == ["known@example.org", "proof@example.org"]


def test_a_file_without_an_email_column_is_refused():
    plan = subscriber_csv.subscriber_import_plan(text="name\nMaya\n")
    assert "email" in plan.problem and not plan.importable


def test_export_round_trips_through_the_import():
    SubscriberFactory(email="a@example.org", first_name="=HYPERLINK(1)", source="footer")
    SubscriberFactory(email="b@example.org", status=SubscriberStatus.PENDING, confirmed_at=None)
    text = subscriber_csv.subscriber_csv_export(subscribers=Subscriber.objects.all())
    rows = _rows(text)
    assert [row["email"] for row in rows] == ["a@example.org", "b@example.org"]
    assert rows[0]["first_name"] == "'=HYPERLINK(1)"  # never a live formula in a spreadsheet
    assert rows[0]["status"] == "confirmed" and rows[0]["consent_date"]
    plan = subscriber_csv.subscriber_import_plan(text=text)
    assert [row.action for row in plan.rows] == ["leave", "opt_in"]


def test_campaign_export_has_the_metrics():
    SubscriberFactory.create_batch(3)
    campaign = NewsletterCampaignFactory(subject="May notes", status=CampaignStatus.SENDING)
    from content import services

    services.campaign_send(campaign=campaign)
    services.campaign_send(campaign=campaign)  # marks it sent
    metrics = EmailCampaignMetric.objects.filter(campaign_id=campaign.pk)
    now = timezone.now()
    metrics.update(sent_at=now)
    first, second, _ = metrics.order_by("id")
    EmailCampaignMetric.objects.filter(pk__in=[first.pk, second.pk]).update(opened_at=now)
    EmailCampaignMetric.objects.filter(pk=first.pk).update(clicked_at=now, unsubscribed_at=now)
    NewsletterCampaignFactory(subject="Draft")
    rows = _rows(subscriber_csv.campaign_csv_export(campaigns=type(campaign).objects.all()))
    may = next(row for row in rows if row["name"] == "May notes")
    assert (may["status"], may["recipients"], may["opens"], may["clicks"], may["unsubscribes"], may["bounces"]) == (
        "sent",
        "3",
        "2",
        "1",
        "1",
        "0",
    )
    assert may["sent_at"] and next(row for row in rows if row["name"] == "Draft")["opens"] == "0"


def test_admin_import_previews_then_imports_on_confirm(admin_client):
    url = reverse("admin:content_subscriber_import")
    upload = SimpleUploadedFile("list.csv", FILE.encode(), content_type="text/csv")
    response = admin_client.post(url, {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing has been imported yet" in page and "is not an email address" in page
    assert not Subscriber.objects.exists()

    signed = response.context["signed"]
    response = admin_client.post(url, {"signed": signed, "confirm": "1"})
    assert response.status_code == 302
    assert Subscriber.objects.filter(email="proof@example.org", status=SubscriberStatus.CONFIRMED).exists()
    assert Subscriber.objects.filter(status=SubscriberStatus.PENDING).count() == 3
    from django.contrib.admin.models import LogEntry

    logged = {entry.object_repr: entry.change_message for entry in LogEntry.objects.all()}
    assert logged["proof@example.org"] == "Imported from CSV: added as confirmed (proof of consent given)."
    assert set(logged) == {
        "proof@example.org",
        "known@example.org",
        "noproof@example.org",
        "plain@example.org",
        "gone@example.org",
        "left@example.org",
    }

    tampered = admin_client.post(url, {"signed": signed + "x", "confirm": "1"}, follow=True)
    assert "expired" in tampered.content.decode()


def test_admin_import_keeps_the_form_on_a_bad_file(admin_client):
    upload = SimpleUploadedFile("list.csv", b"\xff\xfe\x00bad", content_type="text/csv")
    response = admin_client.post(reverse("admin:content_subscriber_import"), {"file": upload})
    assert "not UTF-8" in response.content.decode()


def test_admin_exports(admin_client):
    subscriber = SubscriberFactory(email="x@example.org")
    response = admin_client.post(
        reverse("admin:content_subscriber_changelist"),
        {"action": "export_csv", "_selected_action": [str(subscriber.pk)]},
    )
    assert response["Content-Type"].startswith("text/csv") and b"x@example.org" in response.content
    campaign = NewsletterCampaignFactory(subject="June")
    response = admin_client.post(
        reverse("admin:content_newslettercampaign_changelist"),
        {"action": "export_csv", "_selected_action": [str(campaign.pk)]},
    )
    assert _rows(response.content.decode())[0]["name"] == "June"


def test_an_imported_opt_out_is_honoured_for_a_confirmed_address_and_nothing_is_sent():
    SubscriberFactory(email="was@example.org")
    subscriber_csv.subscriber_import_apply(text=HEADER + "was@example.org,,complained,,,\n")
    assert Subscriber.objects.get(email="was@example.org").status == SubscriberStatus.COMPLAINED
    assert not EmailQueue.objects.exists()
    campaign = NewsletterCampaignFactory()
    with pytest.raises(Exception, match="no confirmed subscribers"):
        from content import services

        services.campaign_audience_check(segment=campaign.segment)
