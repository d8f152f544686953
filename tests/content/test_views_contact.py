import pytest
from django.db import connection
from django.urls import reverse

from content.models import ContactStatus, ContactSubmission
from content.views import CONTACT_LIMIT
from notifications.models import EmailQueue

pytestmark = pytest.mark.django_db
LIMIT = int(CONTACT_LIMIT.split("/")[0])  # requests per window

MESSAGE = "I have had intrusive thoughts since my daughter was born and would like to talk to someone."


def _send(client, **extra):
    data = {
        "name": "Sam Lee",
        "email": "Sam@Example.org",
        "phone": "",
        "subject": "Therapy",
        "message": MESSAGE,
        **extra,
    }
    return client.post(reverse("content:contact"), data)


def test_message_is_stored_encrypted_and_staff_are_alerted_without_it(client, settings):
    settings.BLOOM_STAFF_ALERT_EMAIL = "team@bloom.example"
    response = _send(client)
    assert response.status_code == 302
    submission = ContactSubmission.objects.get()
    assert submission.message == MESSAGE and submission.status == ContactStatus.NEW
    assert submission.email == "sam@example.org"
    with connection.cursor() as cursor:
        cursor.execute("SELECT message FROM contact_submissions")
        assert "intrusive" not in cursor.fetchone()[0]
    alert = EmailQueue.objects.get()
    assert alert.to_email == "team@bloom.example"
    assert "Sam Lee" in alert.subject
    assert "intrusive" not in alert.text_body + alert.html_body
    assert str(submission.pk) in alert.text_body


def test_honeypot_is_answered_like_success_but_stores_and_sends_nothing(client):
    response = _send(client, website="http://cheap-pills.example")
    assert response.status_code == 302
    assert not ContactSubmission.objects.exists()
    assert not EmailQueue.objects.exists()


def test_rate_limit_per_ip(client, rate_window_held):
    for _ in range(LIMIT):
        assert _send(client).status_code == 302
    response = _send(client)
    assert response.status_code == 429
    assert b"try again later" in response.content
    assert ContactSubmission.objects.count() == LIMIT


def test_invalid_form_keeps_what_was_typed(client):
    response = _send(client, email="not-an-email")
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert not ContactSubmission.objects.exists()
