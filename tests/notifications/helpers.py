"""Small helpers several notifications test modules share."""

from notifications.models import EmailCampaignMetric, EmailQueue
from notifications.services import email_enqueue


def three_rows() -> list[EmailQueue]:
    return [email_enqueue(to=f"r{i}@example.com", subject="Hi", text_body="x") for i in range(3)]


def attempts() -> list[tuple[str, int]]:
    return sorted(EmailQueue.objects.values_list("status", "retry_count"))


def campaign_metric() -> EmailCampaignMetric:
    return EmailCampaignMetric.objects.get()
