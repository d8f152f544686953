"""All allauth mail (verification, password reset) goes through the outbox at high priority."""

import pytest
from django.core import mail
from django.urls import reverse

from notifications.drain import email_queue_drain
from notifications.models import EmailPriority, EmailQueue, EmailStatus
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def test_password_reset_mail_is_queued_at_high_priority_not_sent_directly(client):
    member = UserFactory(email="ada@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "ada@example.com"})

    assert response.status_code == 302
    assert mail.outbox == []  # nothing went straight to the backend
    queued = EmailQueue.objects.get(to_email="ada@example.com")
    assert (queued.priority, queued.category, queued.status) == (EmailPriority.HIGH, "transactional", "pending")
    assert queued.user == member
    assert "/password/reset/key/" in queued.text_body
    assert queued.message_id and queued.mime_message  # rendered at queue time like any outbox row

    assert email_queue_drain().sent >= 1
    (sent,) = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert "/password/reset/key/" in sent.body
    queued.refresh_from_db()
    assert queued.status == EmailStatus.SENT


def test_signup_verification_mail_goes_out_before_normal_mail(client):
    from notifications.services import email_enqueue

    newsletter = email_enqueue(to="someone@example.com", subject="Normal priority", text_body="x")
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-Long-passphrase-42",
            "password2": "a-Long-passphrase-42",
            "agree_terms": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]

    verification = EmailQueue.objects.get(to_email="new@example.com", priority=EmailPriority.HIGH)
    assert "/accounts/confirm-email/" in verification.text_body or "confirm-email" in verification.text_body
    assert mail.outbox == []

    email_queue_drain()
    recipients = [m.to[0] for m in mail.outbox]
    assert recipients.index("new@example.com") < recipients.index(newsletter.to_email)
