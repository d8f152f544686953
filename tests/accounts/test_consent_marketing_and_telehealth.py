"""Marketing consent given and withdrawn (newsletter double opt-in, unsubscribe links, her consents
page) honoured in the campaign audience; telehealth consent before a video session."""

import pytest
from django.urls import reverse

from accounts.consent import NEWSLETTER_REQUEST_SOURCE, POLICIES
from accounts.models import ConsentKind, ConsentRecord, UserPreferences, UserProfile
from content import services as content_services
from content.models import CampaignStatus, Subscriber, SubscriberStatus
from notifications.models import EmailQueue
from notifications.services import marketing_unsubscribe
from tests.factories.accounts import UserFactory
from tests.factories.appointments import AppointmentDataFactory
from tests.factories.content import NewsletterCampaignFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (test browser)"


def _marketing(email):
    return list(
        ConsentRecord.objects.filter(kind=ConsentKind.MARKETING, email=email)
        .order_by("created_at")
        .values_list("source", "granted")
    )


def test_newsletter_request_and_confirmation_are_recorded_with_ip_and_user_agent(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    client.post(
        reverse("content:newsletter_signup"),
        {"email": "Visitor@Example.org", "first_name": "Jo", "source": "footer"},
        HTTP_USER_AGENT=UA,
    )
    row = EmailQueue.objects.get(to_email="visitor@example.org", template_key="content/subscriber_confirm")
    [request_record] = ConsentRecord.objects.filter(email="visitor@example.org")
    assert (request_record.source, request_record.user, request_record.user_agent) == (
        NEWSLETTER_REQUEST_SOURCE,
        None,
        UA,
    )
    # Asking is not consent yet: no marketing mail may go to her before she confirms.
    from notifications.selectors import marketing_consent_get

    assert marketing_consent_get(email="visitor@example.org") is False

    confirm_path = row.context["confirm_url"].replace("http://127.0.0.1:8000", "")
    client.post(confirm_path, HTTP_USER_AGENT=UA)

    assert Subscriber.objects.get().status == SubscriberStatus.CONFIRMED
    assert _marketing("visitor@example.org") == [(NEWSLETTER_REQUEST_SOURCE, True), ("newsletter_confirm", True)]
    confirmed = ConsentRecord.objects.get(source="newsletter_confirm")
    assert (confirmed.ip_address, confirmed.user_agent) == ("127.0.0.1", UA)


def test_a_member_confirming_the_newsletter_turns_on_her_marketing_consent():
    member = UserFactory(email="maya@example.org")
    subscriber = SubscriberFactory(email="maya@example.org", status=SubscriberStatus.PENDING, confirmed_at=None)
    content_services.subscriber_confirm(token=content_services.subscriber_confirm_token(subscriber=subscriber))

    assert UserProfile.objects.get(user=member).marketing_consent is True
    assert UserPreferences.objects.get(user=member).newsletter is True
    assert ConsentRecord.objects.get(user=member, kind=ConsentKind.MARKETING).granted is True


def test_unsubscribe_link_records_a_withdrawal_and_turns_off_her_newsletter():
    member = UserFactory(email="ana@example.org")
    UserProfile.objects.filter(user=member).update(marketing_consent=True)
    UserPreferences.objects.filter(user=member).update(newsletter=True)
    SubscriberFactory(email="ana@example.org")

    marketing_unsubscribe(email="ana@example.org")
    marketing_unsubscribe(email="ana@example.org")  # a second click writes nothing more

    assert _marketing("ana@example.org") == [("unsubscribe:unsubscribe", False)]
    assert ConsentRecord.objects.get(email="ana@example.org").user == member
    assert UserPreferences.objects.get(user=member).newsletter is False
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED


def test_withdrawing_on_her_consents_page_is_confirmed_first_and_honoured_in_the_campaign_audience(client):
    member = UserFactory(email="lea@example.org")
    other = SubscriberFactory(email="other@example.org")
    SubscriberFactory(email="lea@example.org")
    client.force_login(member)
    client.post(
        reverse("accounts:profile"),
        {"form": "preferences", "prefs-notification_channel": "portal", "prefs-newsletter": "on"},
    )
    assert _marketing("lea@example.org") == [("preferences", True)]

    page = client.get(reverse("accounts:consents")).content.decode()
    assert reverse("accounts:consent_withdraw", args=["marketing"]) in page
    confirm = client.get(reverse("accounts:consent_withdraw", args=["marketing"]))
    assert "Yes, withdraw" in confirm.content.decode()
    assert _marketing("lea@example.org") == [("preferences", True)]  # nothing yet

    done = client.post(reverse("accounts:consent_withdraw", args=["marketing"]), HTTP_USER_AGENT=UA)
    assert done.status_code == 302
    assert _marketing("lea@example.org") == [("preferences", True), ("consents_page", False)]
    assert ConsentRecord.objects.get(source="consents_page").user_agent == UA
    assert UserProfile.objects.get(user=member).marketing_consent is False
    assert Subscriber.objects.get(email="lea@example.org").status == SubscriberStatus.UNSUBSCRIBED

    campaign = NewsletterCampaignFactory(status=CampaignStatus.SENDING)
    assert content_services.campaign_send(campaign=campaign) == 1
    assert list(EmailQueue.objects.filter(campaign_id=campaign.pk).values_list("to_email", flat=True)) == [other.email]


def test_consents_are_fenced_to_her_and_unknown_kinds_are_404(client):
    member = UserFactory()
    ConsentRecord.objects.create(
        user=UserFactory(), kind=ConsentKind.MARKETING, granted=True, source="signup", email="x@example.org"
    )
    client.force_login(member)
    page = client.get(reverse("accounts:consents")).content.decode()
    assert "No consents recorded yet." in page
    assert client.get(reverse("accounts:consent_withdraw", args=["terms"])).status_code == 404


def test_telehealth_consent_is_asked_once_before_a_video_session_and_can_be_withdrawn(client):
    member = UserFactory()
    appointment = AppointmentDataFactory(user=member)
    client.force_login(member)
    detail = reverse("appointments:appointment_detail", args=[appointment.pk])

    assert "Before your first video session" in client.get(detail).content.decode()
    client.post(reverse("accounts:telehealth_consent"), {"next": detail})  # no tick: nothing written
    assert not ConsentRecord.objects.filter(kind=ConsentKind.TELEHEALTH).exists()

    response = client.post(reverse("accounts:telehealth_consent"), {"agree": "1", "next": detail}, HTTP_USER_AGENT=UA)
    assert response["Location"] == detail
    client.post(reverse("accounts:telehealth_consent"), {"agree": "1", "next": detail})  # once only
    [record] = ConsentRecord.objects.filter(user=member, kind=ConsentKind.TELEHEALTH)
    assert (record.granted, record.text_version, record.user_agent) == (True, POLICIES["telehealth"].version, UA)
    assert "Before your first video session" not in client.get(detail).content.decode()

    client.post(reverse("accounts:consent_withdraw", args=["telehealth"]))
    assert list(
        ConsentRecord.objects.filter(user=member, kind=ConsentKind.TELEHEALTH)
        .order_by("created_at")
        .values_list("granted", flat=True)
    ) == [True, False]
    assert "Before your first video session" in client.get(detail).content.decode()
