import uuid
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.selectors import campaign_metrics_summary
from tests.factories.notifications import EmailCampaignMetricFactory

pytestmark = pytest.mark.django_db


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
