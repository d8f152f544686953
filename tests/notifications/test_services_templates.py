import pytest
from django.core import mail  # noqa: F401

from notifications.models import EmailQueue
from notifications.services import email_enqueue, email_template_test_send
from tests.factories.notifications import EmailTemplateFactory

pytestmark = pytest.mark.django_db


def test_database_template_overrides_the_file_default():
    EmailTemplateFactory(key="notifications/notice", subject="Edited: {{ title }}")
    row = email_enqueue(to="a@example.com", template="notifications/notice", context={"title": "Hi", "message": "m"})
    assert row.subject == "Edited: Hi"


def test_archived_template_falls_back_to_the_file():
    EmailTemplateFactory(key="notifications/notice", subject="Edited: {{ title }}").archive()
    row = email_enqueue(to="a@example.com", template="notifications/notice", context={"title": "Hi"})
    assert row.subject == "Hi"


def test_test_send_goes_through_the_outbox_to_the_staff_address():
    template = EmailTemplateFactory(key="notifications/notice", subject="Edited: {{ title }}")
    row = email_template_test_send(template=template, to="staff@bloom.test")
    assert row.subject == "[TEST] Edited: [title]"
    assert list(EmailQueue.objects.values_list("to_email", flat=True)) == ["staff@bloom.test"]
