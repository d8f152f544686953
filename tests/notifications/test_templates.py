import pytest
from django.core import mail  # noqa: F401

from notifications.admin import EmailTemplateForm
from notifications.models import EmailQueue
from notifications.services import email_template_test_send, queue_email
from tests.factories.notifications import EmailTemplateFactory

pytestmark = pytest.mark.django_db


def _form(**overrides):
    data = {
        "key": "notifications/notice",
        "subject": "{{ title }}",
        "text_template": "{{ message }}",
        "html_template": "",
        "description": "",
    }
    data.update(overrides)
    return EmailTemplateForm(data=data)


def test_valid_template_is_accepted():
    assert _form(
        text_template="{% for x in message %}{{ x }}{{ forloop.counter }}{% endfor %} {{ site_url }}"
    ).is_valid()


def test_syntax_error_is_rejected():
    form = _form(text_template="{% if title %}unclosed")
    assert not form.is_valid()
    assert "syntax error" in str(form.errors)


def test_unknown_variable_is_rejected():
    form = _form(html_template="<p>{{ patient_diagnosis }}</p>", subject="{{ title|default:secret_thing }}")
    assert not form.is_valid()
    errors = str(form.errors)
    assert "patient_diagnosis" in errors and "secret_thing" in errors


def test_unknown_key_is_rejected():
    form = _form(key="nobody/declared")
    assert not form.is_valid()
    assert "Unknown template key" in str(form.errors)


def test_database_template_overrides_the_file_default():
    EmailTemplateFactory(key="notifications/notice", subject="Edited: {{ title }}")
    row = queue_email(to="a@example.com", template="notifications/notice", context={"title": "Hi", "message": "m"})
    assert row.subject == "Edited: Hi"


def test_archived_template_falls_back_to_the_file():
    EmailTemplateFactory(key="notifications/notice", subject="Edited: {{ title }}").archive()
    row = queue_email(to="a@example.com", template="notifications/notice", context={"title": "Hi"})
    assert row.subject == "Hi"


def test_test_send_goes_through_the_outbox_to_the_staff_address():
    template = EmailTemplateFactory(key="notifications/notice", subject="Edited: {{ title }}")
    row = email_template_test_send(template=template, to="staff@bloom.test")
    assert row.subject == "[TEST] Edited: [title]"
    assert list(EmailQueue.objects.values_list("to_email", flat=True)) == ["staff@bloom.test"]
