"""Campaign merge tags: checked before saving, filled in per recipient, shown in the preview."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserProfile
from bloom.sanitize import EMAIL, sanitize_html
from content import services
from content.merge_tags import merge_tag_errors, merge_tags_render
from content.models import CampaignStatus, NewsletterCampaign, SubscriberStatus
from notifications.models import EmailQueue
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

MERGE_BODY = (
    '<h1>Hi {{ first_name|default:"there" }}</h1><p>Sent to {{ email }}. <a href="{{ unsubscribe_url }}">Leave</a></p>'
)


def _form_data(**overrides):
    data = {
        "subject": 'News for {{ first_name|default:"you" }}',
        "preheader": "",
        "body_html": MERGE_BODY,
        "segment": "",
        "scheduled_at_0": "",
        "scheduled_at_1": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Hi {{ fist_name }}", "unknown merge tag"),
        ("Hi {{ first_name|upper }}", "not a merge tag we understand"),
        ("Hi {{ first_name|default:there }}", "not a merge tag we understand"),
        ("Hi {% load static %}", "stray"),
        ("Hi {{ first_name", "stray"),
    ],
)
def test_bad_merge_tags_are_named(text, fragment):
    errors = merge_tag_errors(text)
    assert errors and fragment in errors[0]


def test_good_merge_tags_pass_and_fall_back():
    text = 'Hi {{first_name|default:"there"}}, {{ email }}'
    assert merge_tag_errors(text) == []
    assert merge_tags_render(text, {"first_name": "", "email": "a@b.c"}, html=False) == "Hi there, a@b.c"
    assert merge_tags_render(text, {"first_name": "<Jo>"}, html=True) == "Hi &lt;Jo&gt;, "


def test_campaign_save_refuses_unknown_tags_naming_the_field(superuser):
    campaign = NewsletterCampaign(subject="Hi {{ nmae }}", body_html="<p>ok</p>")
    with pytest.raises(ValidationError) as caught:
        services.campaign_save(campaign=campaign, user=superuser)
    assert set(caught.value.message_dict) == {"subject"}
    assert not NewsletterCampaign.objects.exists()


def test_sent_mail_has_each_recipients_values_and_no_literal_tags():
    named = SubscriberFactory(first_name="Maya", email="maya@example.org")
    nameless = SubscriberFactory(first_name="", email="anon@example.org")
    campaign = NewsletterCampaignFactory(
        status=CampaignStatus.SENDING, subject='For {{ first_name|default:"you" }}', body_html=MERGE_BODY
    )
    assert services.campaign_send(campaign=campaign) == 2
    maya = EmailQueue.objects.get(to_email=named.email)
    anon = EmailQueue.objects.get(to_email=nameless.email)
    for row in (maya, anon):
        assert "{{" not in row.subject + row.html_body + row.text_body
        assert "<h1" in row.html_body  # the email policy keeps h1
        assert row.context["first_name"] in ("Maya", "")
    assert maya.subject == "For Maya" and "Hi Maya" in maya.html_body and "Sent to maya@example.org" in maya.text_body
    assert anon.subject == "For you" and "Hi there" in anon.html_body
    # The body's {{ unsubscribe_url }} is the row's own one-click link (not tracked).
    unsubscribe = maya.headers["List-Unsubscribe"].split(">")[0].lstrip("<")
    assert f'href="{unsubscribe}"' in maya.html_body


def test_a_value_cannot_smuggle_a_script_link_in():
    SubscriberFactory(first_name="javascript:alert(1)")
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING, body_html='<a href="{{ first_name }}">x</a>')
    services.campaign_send(campaign=campaign)
    assert "javascript:" not in EmailQueue.objects.get().html_body.split("<a")[1]


def test_test_send_fills_in_the_staff_members_name(superuser):
    superuser.first_name = "Dana"
    superuser.save()
    campaign = NewsletterCampaignFactory(body_html=MERGE_BODY)
    row = services.campaign_test_send(campaign=campaign, user=superuser)
    assert row.to_email == superuser.email and "Hi Dana" in row.html_body and "{{" not in row.html_body


@pytest.mark.parametrize("tag", ["h1", "h2", "h3"])
def test_email_policy_keeps_headings(tag):
    assert sanitize_html(f"<{tag}>Title</{tag}>", EMAIL) == f"<{tag}>Title</{tag}>"


def test_admin_form_names_the_field_and_keeps_what_was_typed(admin_client):
    typed = "<p>Dear {{ first_name|default:there }}</p>"
    response = admin_client.post(reverse("admin:content_newslettercampaign_add"), _form_data(body_html=typed))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["body_html"] and "not a merge tag we understand" in errors["body_html"][0]
    assert "Dear {{ first_name|default:there }}" in response.content.decode()
    assert not NewsletterCampaign.objects.exists()


def test_preview_renders_as_sent_for_the_chosen_subscriber(admin_client):
    SubscriberFactory(email="zoe@example.org", first_name="Zoe")
    SubscriberFactory(email="zack@example.org", first_name="")
    SubscriberFactory(email="zed@example.org", first_name="Zed", status=SubscriberStatus.PENDING, confirmed_at=None)
    campaign = NewsletterCampaignFactory(subject='For {{ first_name|default:"you" }}', body_html=MERGE_BODY)
    url = reverse("admin:content_newslettercampaign_change", args=[campaign.pk])

    response = admin_client.get(url, {"preview": "z"})
    matches = [s.email for s in response.context["preview_matches"]]
    assert matches == ["zack@example.org", "zoe@example.org"]  # confirmed only
    assert response.context["preview"]["subject"] == "For you"

    zoe = response.context["preview_matches"][1]
    response = admin_client.get(url, {"preview": "z", "subscriber": str(zoe.pk)})
    preview = response.context["preview"]
    assert preview["subject"] == "For Zoe" and "Hi Zoe" in preview["html"] and "Hi Zoe" in preview["text"]
    assert "{{" not in preview["html"] + preview["text"]
    page = response.content.decode()
    assert "<iframe" in page and "sandbox" in page and "<script" not in preview["html"]
    assert not EmailQueue.objects.exists()  # a preview queues nothing

    response = admin_client.get(url, {"preview": "nobody"})
    assert response.context["preview"] is None and "No confirmed subscriber" in response.content.decode()


def test_send_at_is_typed_in_the_practice_zone_and_shown_in_the_readers(admin_client, superuser, settings):
    settings.BLOOM_PRACTICE_TIME_ZONE = "America/Los_Angeles"
    UserProfile.objects.update_or_create(user=superuser, defaults={"timezone": "Europe/London"})
    SubscriberFactory()
    day = (timezone.now() + datetime.timedelta(days=3)).date()
    response = admin_client.post(
        reverse("admin:content_newslettercampaign_add"),
        _form_data(scheduled_at_0=day.isoformat(), scheduled_at_1="09:00"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = NewsletterCampaign.objects.get()
    assert campaign.status == CampaignStatus.SCHEDULED
    zone = zoneinfo.ZoneInfo("America/Los_Angeles")
    assert campaign.scheduled_at == datetime.datetime.combine(day, datetime.time(9), zone)

    page = admin_client.get(reverse("admin:content_newslettercampaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "09:00</strong> practice time (America/Los_Angeles)" in html
    london = timezone.localtime(campaign.scheduled_at, zoneinfo.ZoneInfo("Europe/London"))
    assert f"{london:%H:%M} in your time zone (Europe/London)" in html
    assert page.context["adminform"].form.initial["scheduled_at"].hour == 9


def test_cancel_the_schedule_keeps_a_draft(admin_client):
    SubscriberFactory()
    campaign = NewsletterCampaignFactory(
        status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now() + datetime.timedelta(hours=1)
    )
    admin_client.post(reverse("admin:content_newslettercampaign_unschedule", args=[campaign.pk]))
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.get().change_message == "Schedule cancelled: a draft again."
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.scheduled_at is None
    assert services.campaign_send_due(now=timezone.now() + datetime.timedelta(hours=2)) == 0
    with pytest.raises(Exception, match="not scheduled"):
        services.campaign_unschedule(campaign=campaign)


def test_beat_sends_a_scheduled_campaign_at_its_time(monkeypatch):
    started = []
    monkeypatch.setattr("bloom.tasks.enqueue", lambda task, *args: started.append(args))
    SubscriberFactory()
    at = timezone.now() + datetime.timedelta(minutes=5)
    campaign = NewsletterCampaignFactory(status=CampaignStatus.SCHEDULED, scheduled_at=at)
    assert services.campaign_send_due(now=at - datetime.timedelta(seconds=1)) == 0
    assert services.campaign_send_due(now=at) == 1
    assert started == [(str(campaign.pk),)]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING


def test_zero_recipients_is_refused_on_the_confirmation_page(admin_client):
    campaign = NewsletterCampaignFactory()
    url = reverse("admin:content_newslettercampaign_send", args=[campaign.pk])
    assert "<strong>0</strong>" in admin_client.get(url).content.decode()
    admin_client.post(url)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
