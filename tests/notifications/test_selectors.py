import uuid
from datetime import timedelta

import pytest
from django.core import mail  # noqa: F401 - locmem outbox reset per test
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import EmailCategory, EmailSuppression
from notifications.selectors import (
    campaign_metrics_summary,
    marketing_consent_get,
    notification_list_for_member,
    notification_unread_count,
    refusal_reason_get,
    suppression_get,
)
from tests.factories.accounts import UserFactory
from tests.factories.notifications import EmailCampaignMetricFactory, EmailSuppressionFactory, UserNotificationFactory

pytestmark = pytest.mark.django_db


def test_suppression_get_compares_the_normalised_address():
    entry = EmailSuppressionFactory(email="gone@example.com")
    assert suppression_get(email="  Gone@Example.COM ") == entry
    assert suppression_get(email="here@example.com") is None


def test_marketing_consent_get_asks_the_profile_for_members_and_the_lookups_for_others(marketing_consent_for_all):
    member = UserFactory()
    member.profile.marketing_consent = False
    member.profile.save()
    assert marketing_consent_get(email=member.email.upper()) is False
    member.profile.marketing_consent = True
    member.profile.save()
    assert marketing_consent_get(email=member.email, user=member) is True
    assert marketing_consent_get(email="friend@example.com") is True
    assert marketing_consent_get(email="noconsent@example.com") is False


def test_marketing_consent_get_without_any_lookup_is_no():
    assert marketing_consent_get(email="stranger@example.com") is False


def test_refusal_reason_get_names_suppression_and_missing_consent(marketing_consent_for_all):
    EmailSuppressionFactory(email="quiet@example.com", scope=EmailSuppression.Scope.MARKETING)
    assert refusal_reason_get(email="quiet@example.com", category=EmailCategory.MARKETING).startswith(
        "quiet@example.com is on the suppression list ("
    )
    assert refusal_reason_get(email="quiet@example.com", category=EmailCategory.CLINICAL) is None
    assert refusal_reason_get(email="noconsent@example.com", category=EmailCategory.MARKETING) == (
        "noconsent@example.com has not consented to marketing email"
    )
    assert refusal_reason_get(email="noconsent@example.com", category=EmailCategory.TRANSACTIONAL) is None
    assert refusal_reason_get(email="friend@example.com", category=EmailCategory.MARKETING) is None


def test_notification_unread_count_counts_only_my_unread_notices():
    me = UserFactory()
    UserNotificationFactory.create_batch(2, user=me)
    UserNotificationFactory(user=me, read=True)
    UserNotificationFactory()
    assert notification_unread_count(member=me) == 2


def test_selector_limits_and_orders_newest_first():
    me = UserFactory()
    notices = UserNotificationFactory.create_batch(3, user=me)
    listed = notification_list_for_member(member=me, limit=2)
    assert [n.pk for n in listed] == [n.pk for n in sorted(notices, key=lambda n: n.created_at, reverse=True)][:2]


def test_summary_counts_rates_and_series(django_assert_num_queries):
    campaign = uuid.uuid4()
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    EmailCampaignMetricFactory(campaign_id=campaign, sent_at=yesterday, opened_at=yesterday, clicked_at=now)
    EmailCampaignMetricFactory(campaign_id=campaign, sent_at=yesterday, opened_at=now, unsubscribed_at=now)
    EmailCampaignMetricFactory(campaign_id=campaign, sent_at=now, bounced_at=now, bounce_type="hard")
    EmailCampaignMetricFactory(campaign_id=campaign)  # queued, not sent yet
    EmailCampaignMetricFactory(sent_at=now, opened_at=now)  # another campaign

    with django_assert_num_queries(4):
        summary = campaign_metrics_summary(campaign_id=campaign)

    assert (summary["queued"], summary["sent"], summary["opened"], summary["clicked"]) == (4, 3, 2, 1)
    assert (summary["unsubscribed"], summary["bounced"]) == (1, 1)
    assert (summary["open_rate"], summary["click_rate"], summary["bounce_rate"]) == (66.7, 33.3, 33.3)
    assert [(d["day"], d["sent"], d["opened"], d["clicked"]) for d in summary["series"]] == [
        (timezone.localdate(yesterday), 2, 1, 0),
        (timezone.localdate(now), 1, 1, 1),
    ]


def test_report_partial_draws_an_svg_chart_or_an_empty_state():
    campaign = uuid.uuid4()
    empty = render_to_string(
        "notifications/_campaign_report.html", {"report": campaign_metrics_summary(campaign_id=campaign)}
    )
    assert "No email of this campaign has been sent yet." in empty and "<svg" not in empty

    EmailCampaignMetricFactory(campaign_id=campaign, sent_at=timezone.now())
    html = render_to_string(
        "notifications/_campaign_report.html", {"report": campaign_metrics_summary(campaign_id=campaign)}
    )
    assert "<svg" in html and "<rect" in html and "1 sent" in html


def test_her_list_counts_all_her_unread_notices_for_the_bell_in_the_same_query(django_assert_num_queries):
    from accounts.models import User
    from notifications.selectors import notification_list_for_member, notification_unread_count

    member = UserFactory()
    UserNotificationFactory.create_batch(3, user=member, read=False)
    UserNotificationFactory.create_batch(2, user=member, read=True)
    UserNotificationFactory(user=UserFactory(), read=False)  # someone else's
    reader = User.objects.get(pk=member.pk)  # as request.user is: a fresh row each request
    with django_assert_num_queries(1):
        shown = notification_list_for_member(member=reader, limit=2)
        assert notification_unread_count(member=reader) == 3  # beyond the two shown
    assert len(shown) == 2
    fresh = User.objects.get(pk=member.pk)
    with django_assert_num_queries(1):  # a member whose list was not read: its own count query
        assert notification_unread_count(member=fresh) == 3
    nobody = UserFactory()
    assert notification_list_for_member(member=nobody) == [] and notification_unread_count(member=nobody) == 0
