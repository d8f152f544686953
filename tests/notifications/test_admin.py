import pytest
from django.core import mail  # noqa: F401
from django.urls import reverse

from notifications.admin import EmailTemplateForm
from notifications.models import EmailQueue, EmailStatus, EmailSuppression, EmailTemplate
from notifications.services import (
    email_enqueue,
)
from tests.factories.accounts import StaffUserFactory
from tests.factories.notifications import EmailQueueFactory, EmailTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = StaffUserFactory(is_superuser=True)
    client.force_login(staff)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": 0},
        {"method": "mfa", "type": "totp", "at": 0},
    ]
    session.save()
    client.staff = staff
    return client


def test_queue_changelist_filters_and_preview(staff_client):
    row = email_enqueue(to="ada@example.com", template="notifications/notice", context={"title": "Preview me"})
    response = staff_client.get(reverse("admin:notifications_emailqueue_changelist"), {"status__exact": "pending"})
    assert response.status_code == 200
    assert b"ada@example.com" in response.content

    other = email_enqueue(to="bo@example.com", subject="Other", text_body="x", priority=90)
    changelist = reverse("admin:notifications_emailqueue_changelist")
    by_recipient = staff_client.get(changelist, {"q": "ada@example.com"})
    assert [r.pk for r in by_recipient.context["cl"].result_list] == [row.pk]
    by_priority = staff_client.get(changelist, {"priority": "90"})
    assert [r.pk for r in by_priority.context["cl"].result_list] == [other.pk]

    response = staff_client.get(reverse("admin:notifications_emailqueue_change", args=[row.pk]))
    assert response.status_code == 200
    assert b"srcdoc=" in response.content and b"Preview me" in response.content


def test_retry_cancel_and_send_now_actions(staff_client):
    failed = EmailQueueFactory(status=EmailStatus.FAILED, retry_count=5, last_error="550")
    sent = EmailQueueFactory(status=EmailStatus.SENT)
    url = reverse("admin:notifications_emailqueue_changelist")

    staff_client.post(url, {"action": "retry", "_selected_action": [failed.pk, sent.pk]})
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.retry_count, failed.last_error) == ("pending", 0, "")
    assert sent.status == "sent"  # a sent email is never re-sent by an action

    staff_client.post(url, {"action": "cancel", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == "cancelled"

    staff_client.post(url, {"action": "send_now", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.priority == 10


def test_template_admin_refuses_unknown_variables(staff_client):
    response = staff_client.post(
        reverse("admin:notifications_emailtemplate_add"),
        {
            "key": "notifications/notice",
            "subject": "{{ title }}",
            "text_template": "{{ diagnosis }}",
            "html_template": "",
            "description": "",
        },
    )
    assert response.status_code == 200
    assert b"diagnosis" in response.content
    assert not EmailTemplate.all_objects.exists()


def test_template_preview_and_test_send(staff_client):
    template = EmailTemplateFactory(key="notifications/notice")
    response = staff_client.get(reverse("admin:notifications_emailtemplate_change", args=[template.pk]))
    assert response.status_code == 200 and b"Preview with sample data" in response.content

    staff_client.post(
        reverse("admin:notifications_emailtemplate_changelist"),
        {"action": "test_send", "_selected_action": [template.pk]},
    )
    assert list(EmailQueue.objects.values_list("to_email", flat=True)) == [staff_client.staff.email]


def test_manual_suppression_through_the_admin(staff_client):
    response = staff_client.post(
        reverse("admin:notifications_emailsuppression_add"),
        {"email": "Stop@Example.com", "reason": "manual", "scope": "all", "detail": ""},
    )
    assert response.status_code == 302
    assert EmailSuppression.objects.get().email == "stop@example.com"


def test_live_preview_renders_what_is_typed_with_sample_data(staff_client):
    url = reverse("admin:notifications_emailtemplate_live_preview")
    response = staff_client.post(
        url,
        {
            "key": "notifications/notice",
            "subject": "Hi {{ title }}",
            "text_template": "{{ message }} from {{ site_name }}",
            "html_template": "<style>p{color:red}</style><p>{{ title }}</p>",
        },
    )
    assert response.status_code == 200
    data = response.json()
    assert data["errors"] == []
    assert data["subject"].startswith("Hi ") and "{{" not in data["subject"]
    assert "Bloom Psychology" in data["text"]
    assert 'style="color: red' in data["html"] or 'style="color:red' in data["html"]  # CSS inlined as when sent
    assert not EmailTemplate.all_objects.exists()  # previewing saves nothing


def test_live_preview_reports_syntax_errors_and_unknown_variables(staff_client):
    url = reverse("admin:notifications_emailtemplate_live_preview")
    broken = staff_client.post(
        url, {"key": "notifications/notice", "subject": "{% if title %}", "text_template": "", "html_template": ""}
    ).json()
    assert any("syntax error" in e for e in broken["errors"]) and broken["html"] == ""

    unknown = staff_client.post(
        url, {"key": "notifications/notice", "subject": "x", "text_template": "{{ diagnosis }}", "html_template": ""}
    ).json()
    assert any("diagnosis" in e for e in unknown["errors"])


def test_live_preview_needs_staff_and_post(client, staff_client):
    url = reverse("admin:notifications_emailtemplate_live_preview")
    assert staff_client.get(url).status_code == 405
    client.logout()
    member = client.post(url, {"key": "notifications/notice", "subject": "x"})
    assert member.status_code == 302 and "login" in member["Location"]


def test_change_form_has_live_preview_and_test_send_button(staff_client):
    template = EmailTemplateFactory(key="notifications/notice")
    change = reverse("admin:notifications_emailtemplate_change", args=[template.pk])
    page = staff_client.get(change).content.decode()
    assert 'id="live-preview"' in page
    assert reverse("admin:notifications_emailtemplate_live_preview") in page

    send = reverse("admin:notifications_emailtemplate_test_send", args=[template.pk])
    assert send in page
    assert staff_client.get(send).status_code == 405  # never on a GET
    response = staff_client.post(send)
    assert response.status_code == 302 and response["Location"] == change
    queued = EmailQueue.objects.get()
    assert queued.to_email == staff_client.staff.email and queued.subject.startswith("[TEST]")


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


def test_sequence_admin_refuses_an_unknown_stop_condition():
    from notifications.admin import EmailSequenceForm

    data = {
        "name": "Course follow-up",
        "trigger": "course_enrolled",
        "status": "active",
        "category": "marketing",
        "stop_conditions": "unsubscribed,bought_something",
        "description": "",
    }
    form = EmailSequenceForm(data=data)
    assert not form.is_valid()
    assert "bought_something" in str(form.errors["stop_conditions"])

    data["stop_conditions"] = "unsubscribed,suppressed"
    assert EmailSequenceForm(data=data).is_valid()
