import email
import uuid

import pytest
from django.core import mail

from notifications.drain import email_queue_drain
from notifications.models import EmailCampaignMetric, EmailQueue, EmailStatus, EmailSuppression
from notifications.services import (
    EmailCategory,
    EmailPriority,
    EmailRefused,
    email_enqueue,
    suppression_add,
)
from tests.callbacks import work_callbacks
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_email_enqueue_renders_at_queue_time_with_inlined_css_and_message_id():
    row = email_enqueue(
        to="Ada@Example.com", template="notifications/notice", context={"title": "Your <session>", "message": "Hi"}
    )

    assert row.status == EmailStatus.PENDING
    assert row.to_email == "ada@example.com"
    assert row.subject == "Your <session>"
    assert "Your <session>" in row.text_body  # plain text is not HTML-escaped
    assert "Your &lt;session&gt;" in row.html_body
    assert "<style" not in row.html_body and 'style="' in row.html_body  # CSS inlined
    assert row.headers["Message-ID"] == row.message_id and row.message_id.startswith("<")
    assert "List-Unsubscribe" not in row.headers  # transactional mail has no unsubscribe header
    parsed = email.message_from_string(row.mime_message)
    assert parsed["Message-ID"] == row.message_id
    assert parsed["Date"] is None  # stamped by the drain when it sends


def test_email_enqueue_joins_the_callers_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        email_enqueue(to="a@example.com", subject="One", text_body="x")
        email_enqueue(to="b@example.com", subject="Two", text_body="x")
    assert EmailQueue.objects.count() == 2
    assert len(work_callbacks(callbacks)) == 1  # one drain wake-up per transaction, not one per email


def test_idempotency_key_blocks_the_duplicate():
    first = email_enqueue(to="a@example.com", subject="Receipt", text_body="x", idempotency_key="receipt:1")
    second = email_enqueue(to="a@example.com", subject="Receipt again", text_body="x", idempotency_key="receipt:1")

    assert first is not None and second is None
    assert list(EmailQueue.objects.values_list("subject", flat=True)) == ["Receipt"]


def test_marketing_to_member_without_consent_is_refused_with_reason():
    member = UserFactory()
    member.profile.marketing_consent = False
    member.profile.save()

    assert email_enqueue(to=member.email, user=member, subject="News", text_body="x", category="marketing") is None
    with pytest.raises(EmailRefused, match="has not consented to marketing"):
        email_enqueue(to=member.email, subject="News", text_body="x", category="marketing", raise_on_refusal=True)
    assert not EmailQueue.objects.exists()
    # Account mail still goes.
    assert email_enqueue(to=member.email, subject="Password reset", text_body="x") is not None


def test_marketing_to_unknown_address_needs_a_consent_lookup(marketing_consent_for_all):
    assert email_enqueue(to="noconsent@example.com", subject="News", text_body="x", category="marketing") is None
    assert email_enqueue(to="friend@example.com", subject="News", text_body="x", category="marketing") is not None


def test_suppressed_address_is_refused_and_unsubscribe_only_stops_marketing(marketing_consent_for_all):
    suppression_add(email="gone@example.com", reason=EmailSuppression.Reason.HARD_BOUNCE)
    with pytest.raises(EmailRefused, match="suppression list"):
        email_enqueue(to="gone@example.com", subject="x", text_body="x", raise_on_refusal=True)

    suppression_add(email="quiet@example.com", reason=EmailSuppression.Reason.UNSUBSCRIBE, scope="marketing")
    with pytest.raises(EmailRefused, match="suppression list"):
        email_enqueue(
            to="quiet@example.com", subject="News", text_body="x", category="marketing", raise_on_refusal=True
        )
    assert email_enqueue(to="quiet@example.com", subject="Appointment", text_body="x", category=EmailCategory.CLINICAL)
    assert list(EmailQueue.objects.values_list("to_email", flat=True)) == ["quiet@example.com"]


def test_marketing_mail_gets_one_click_unsubscribe_headers_and_tracking(marketing_consent_for_all):
    campaign = uuid.uuid4()
    row = email_enqueue(
        to="reader@example.com",
        subject="Spring news",
        text_body="x",
        html_body='<p><a href="https://bloom.example/blog/1">Read</a> <a href="https://bloom.example/blog/1">again</a></p>',
        category="marketing",
        campaign_id=campaign,
    )
    assert row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_part, mailto_part = row.headers["List-Unsubscribe"].split(", ")
    assert "/notifications/unsubscribe/" in https_part and mailto_part.startswith("<mailto:")
    assert row.tracked_links == ["https://bloom.example/blog/1"]
    assert "https://bloom.example/blog/1" not in row.html_body
    assert "/notifications/t/o/" in row.html_body
    metric = EmailCampaignMetric.objects.get()
    assert (metric.campaign_id, metric.email_id, metric.recipient_email, metric.sent_at) == (
        campaign,
        row.pk,
        "reader@example.com",
        None,
    )


def test_clinical_mail_is_never_tracked():
    row = email_enqueue(
        to="patient@example.com",
        subject="Your appointment",
        text_body="x",
        html_body='<p><a href="https://bloom.example/appointments/">See</a></p>',
        category=EmailCategory.CLINICAL,
        campaign_id=uuid.uuid4(),
    )
    assert row.tracked_links == []
    assert 'href="https://bloom.example/appointments/"' in row.html_body
    assert "/notifications/t/" not in row.html_body


def test_drain_sends_in_priority_order_and_records_message_id():
    low = email_enqueue(to="a@example.com", subject="Low", text_body="x", priority=EmailPriority.LOW)
    high = email_enqueue(to="b@example.com", subject="High", text_body="x", priority=EmailPriority.HIGH)

    result = email_queue_drain()

    assert (result.sent, result.failed, result.retried) == (2, 0, 0)
    assert [m.subject for m in mail.outbox] == ["High", "Low"]
    for row in (low, high):
        row.refresh_from_db()
        assert row.status == EmailStatus.SENT and row.sent_at is not None and row.lease_expires_at is None
    assert mail.outbox[0].extra_headers["Message-ID"] == high.message_id


def test_drain_leaves_future_and_cancelled_mail_alone():
    from datetime import timedelta

    from django.utils import timezone

    later = email_enqueue(
        to="a@example.com", subject="Later", text_body="x", scheduled_at=timezone.now() + timedelta(hours=1)
    )
    cancelled = email_enqueue(to="b@example.com", subject="Cancelled", text_body="x")
    EmailQueue.objects.filter(pk=cancelled.pk).update(status=EmailStatus.CANCELLED)

    assert email_queue_drain().sent == 0
    assert mail.outbox == []
    later.refresh_from_db()
    assert later.status == EmailStatus.PENDING


def test_claim_query_uses_the_claim_index():
    """The drain's claim reads the due rows through the claim index, planned on an outbox shaped like
    a working one (mostly sent, a tenth pending across priorities and times, a few failed) rather
    than an empty table, where any index on status ties with it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO email_queue (to_email, from_email, subject, text_body, html_body, mime_message,"
            " template_key, category, priority, status, scheduled_at, last_error, message_id)"
            " SELECT 'm' || g || '@example.com', 'hello@bloom.test', 's', 't', 'h', 'm', 'k', 'marketing',"
            " (ARRAY[10, 50, 90])[1 + g % 3],"
            " CASE WHEN g % 10 = 0 THEN 'pending' WHEN g % 50 = 1 THEN 'failed' ELSE 'sent' END,"
            " now() + ((g % 7) - 3) * interval '1 hour', '', ''"
            " FROM generate_series(1, 20000) AS g"
        )
        cursor.execute("ANALYZE email_queue")
        cursor.execute(
            "EXPLAIN SELECT id FROM email_queue WHERE status = 'pending' AND scheduled_at <= now() "
            "ORDER BY priority, scheduled_at LIMIT 100 FOR UPDATE SKIP LOCKED"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using email_queue_claim_idx" in plan, plan
    assert "Sort" not in plan, plan


def test_text_only_mail_gets_an_html_part_in_the_bloom_layout():
    row = email_enqueue(
        to="a@example.com",
        subject="Reset your password",
        text_body="Hello <Ada>,\n\nOpen https://bloom.example/reset/abc/ to choose a new one.",
    )
    assert row.text_body.startswith("Hello <Ada>")
    assert "Bloom Psychology" in row.html_body and "<h1" in row.html_body and "Reset your password" in row.html_body
    assert "Hello &lt;Ada&gt;" in row.html_body and "<Ada>" not in row.html_body  # escaped, never injected
    assert 'href="https://bloom.example/reset/abc/"' in row.html_body
    assert "<style" not in row.html_body  # inlined like every other HTML part
    parsed = email.message_from_string(row.mime_message)
    assert parsed.is_multipart()
    assert [part.get_content_type() for part in parsed.get_payload()] == ["text/plain", "text/html"]


def test_file_template_without_html_gets_the_layout_too():
    row = email_enqueue(
        to="a@example.com",
        template="workshops/waitlisted",
        context={"workshop_title": "Sleep & the newborn", "workshop_url": "https://bloom.example/w/1/"},
    )
    assert "You're on the waitlist: Sleep & the newborn" in row.html_body.replace("&#x27;", "'").replace("&amp;", "&")
    assert "Bloom Psychology" in row.html_body and 'href="https://bloom.example/w/1/"' in row.html_body
