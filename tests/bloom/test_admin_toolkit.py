"""bloom.admin itself: the confirm-then-apply row action, the delete guard and the soft-delete admin.

The admins below are built here on real models (emails in the queue, email templates) so the
toolkit is tested apart from any one app's rules; each app's admin tests cover its own actions.
"""

from __future__ import annotations

import pytest
from django.contrib import admin, messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from bloom.admin import (
    Confirm,
    ConfirmField,
    CountColumnsMixin,
    DeleteGuardMixin,
    SoftDeleteAdmin,
    count_column,
    plural,
    row_action,
)
from bloom.exceptions import ApplicationError
from notifications import services
from notifications.models import EmailQueue, EmailSequence, EmailStatus, EmailTemplate
from tests.factories.accounts import StaffUserFactory
from tests.factories.notifications import (
    EmailQueueFactory,
    EmailSequenceFactory,
    EmailTemplateFactory,
    SequenceEmailFactory,
)

pytestmark = pytest.mark.django_db


class EmailAdmin(admin.ModelAdmin):
    """Cancel emails, after confirming with a note; an email whose subject says so is refused."""

    actions = ["cancel", "cancel_now", "mark_failed"]

    @row_action(
        description="Cancel",
        things="email",
        done="{things} cancelled.",
        unchanged="{things} left alone: already sent or cancelled.",
        confirm=Confirm(
            title="Cancel these emails?",
            button="Yes, cancel them",
            intro="They will not be sent.",
            columns=[("To", lambda email: email.to_email), ("Subject", lambda email: email.subject)],
            field=ConfirmField(name="note", label="Why?", missing="Say why."),
        ),
        label=lambda email: email.to_email,
    )
    def cancel(self, request, email, *, note: str):
        if email.subject == "refuse me":
            raise ApplicationError(f"Not this one ({note}).")
        return services.email_cancel(email=email)

    @row_action(description="Cancel now", things="email", done="{things} cancelled.")
    def cancel_now(self, request, email):
        if email.subject == "invalid":
            raise ValidationError("The address is invalid.")
        return services.email_cancel(email=email)

    @row_action(
        description="Mark failed",
        things=("failed email", "failed emails"),
        rows=lambda emails: emails.filter(status=EmailStatus.PENDING),
        done=lambda outcome: f"Marked {outcome.things(len(outcome.done))}; results {outcome.results}.",
    )
    def mark_failed(self, request, email):
        return EmailQueue.objects.filter(pk=email.pk).update(status=EmailStatus.FAILED)


class TemplateAdmin(SoftDeleteAdmin):
    """Soft-deleted rows with a delete rule: a template whose key starts with "held/" is refused."""

    things = "template"
    archive_done = "{things} archived: the file default is used again."

    def delete_refusal(self, template) -> str | None:
        if template.key.startswith("held/"):
            return f"{template.key} is in use, so it cannot be deleted. Archive it instead."
        return None


class BulkTemplateAdmin(TemplateAdmin):
    bulk_delete = True


class GuardedEmailAdmin(DeleteGuardMixin, admin.ModelAdmin):
    pass


class SequenceAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ("name", "step_count")
    step_count = count_column("steps", "steps")


@pytest.fixture
def staff():
    return StaffUserFactory(is_superuser=True)


def _request(staff, data=None, method="post"):
    factory = RequestFactory()
    request = factory.post("/admin/", data or {}) if method == "post" else factory.get("/admin/")
    request.user = staff
    request._dont_enforce_csrf_checks = True
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _said(request) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in request._messages]


def _emails(*subjects, **fields):
    return [EmailQueueFactory(subject=subject, **fields) for subject in subjects]


def _statuses(emails) -> list[str]:
    return [EmailQueue.objects.get(pk=email.pk).status for email in emails]


# --- plural -------------------------------------------------------------------------------


def test_plural_counts_in_words():
    assert plural(1, "email") == "1 email"
    assert plural(5, "email") == "5 emails"
    assert plural(0, "email") == "0 emails"
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1, "entry", "entries") == "1 entry"


# --- confirm, then apply ------------------------------------------------------------------


def test_the_first_post_shows_the_confirmation_page_and_changes_nothing(staff):
    emails = _emails("First", "Second")
    model_admin = EmailAdmin(EmailQueue, admin.site)
    selected = EmailQueue.objects.filter(pk__in=[e.pk for e in emails])

    page = model_admin.cancel(_request(staff), selected).render().content.decode()

    assert "<h1>Cancel these emails?</h1>" in page and "They will not be sent." in page
    assert f"<td>{emails[0].to_email}</td><td>First</td>" in page
    for email in emails:
        assert f'name="_selected_action" value="{email.pk}"' in page
    assert '<input type="hidden" name="action" value="cancel">' in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    assert '<label for="id_note">Why?</label>' in page and 'value="Yes, cancel them"' in page
    assert _statuses(emails) == [EmailStatus.PENDING, EmailStatus.PENDING]


def test_cancel_goes_back_to_the_list_and_leaves_the_rows_alone(staff):
    emails = _emails("First")
    model_admin = EmailAdmin(EmailQueue, admin.site)
    request = _request(staff, {"note": "typed, then cancelled"})  # the page's form, not confirmed
    page = model_admin.cancel(request, EmailQueue.objects.all()).render().content.decode()
    changelist = reverse("admin:notifications_emailqueue_changelist")
    assert f'<a href="{changelist}">Cancel, go back</a>' in page
    assert _statuses(emails) == [EmailStatus.PENDING]
    assert _said(request) == []


def test_a_required_field_left_empty_shows_the_page_again_with_the_reason(staff):
    emails = _emails("First")
    model_admin = EmailAdmin(EmailQueue, admin.site)
    request = _request(staff, {"confirm": "yes", "note": "   "})
    page = model_admin.cancel(request, EmailQueue.objects.all()).render().content.decode()
    assert '<p class="errornote">Say why.</p>' in page
    assert _statuses(emails) == [EmailStatus.PENDING]
    assert _said(request) == []


def test_confirming_applies_each_row_and_reports_refusals_by_row(staff):
    first, refused, second = _emails("First", "refuse me", "Second")
    sent = EmailQueueFactory(subject="Sent", status=EmailStatus.SENT)
    model_admin = EmailAdmin(EmailQueue, admin.site)
    request = _request(staff, {"confirm": "yes", "note": " Duplicate "})

    assert model_admin.cancel(request, EmailQueue.objects.order_by("subject")) is None

    assert _statuses([first, second]) == [EmailStatus.CANCELLED, EmailStatus.CANCELLED]
    assert _statuses([refused, sent]) == [EmailStatus.PENDING, EmailStatus.SENT]
    assert _said(request) == [
        (messages.SUCCESS, "2 emails cancelled."),
        (messages.INFO, "1 email left alone: already sent or cancelled."),
        (messages.ERROR, f"{refused.to_email}: Not this one (Duplicate)."),
    ]


def test_one_row_reads_in_the_singular_and_nothing_done_is_a_warning(staff):
    (email,) = _emails("Only")
    model_admin = EmailAdmin(EmailQueue, admin.site)
    once = _request(staff)
    model_admin.cancel_now(once, EmailQueue.objects.all())
    assert _said(once) == [(messages.SUCCESS, "1 email cancelled.")]

    again = _request(staff)
    model_admin.cancel_now(again, EmailQueue.objects.all())
    assert _said(again) == [(messages.WARNING, "0 emails cancelled.")]  # no `unchanged` text: only the count


def test_a_validation_error_refuses_the_row_like_an_application_error(staff):
    invalid, fine = _emails("invalid", "fine")
    model_admin = EmailAdmin(EmailQueue, admin.site)
    request = _request(staff)
    model_admin.cancel_now(request, EmailQueue.objects.order_by("subject"))
    assert _statuses([invalid, fine]) == [EmailStatus.PENDING, EmailStatus.CANCELLED]
    assert _said(request) == [
        (messages.SUCCESS, "1 email cancelled."),
        (messages.ERROR, f"{invalid}: The address is invalid."),  # the default label is str(row)
    ]


def test_rows_narrows_the_selection_and_done_may_be_a_function_of_the_outcome(staff):
    pending, already = EmailQueueFactory(), EmailQueueFactory(status=EmailStatus.SENT)
    model_admin = EmailAdmin(EmailQueue, admin.site)
    request = _request(staff)
    model_admin.mark_failed(request, EmailQueue.objects.all())
    assert _statuses([pending, already]) == [EmailStatus.FAILED, EmailStatus.SENT]
    assert _said(request) == [(messages.SUCCESS, "Marked 1 failed email; results [1].")]


def test_the_action_keeps_its_description_and_permissions():
    assert EmailAdmin.cancel.short_description == "Cancel"
    assert EmailAdmin.cancel.__name__ == "cancel"


# --- soft delete: archive, restore, delete guard ------------------------------------------


def test_queryset_restore_brings_back_archived_rows_only():
    archived, active = EmailTemplateFactory(), EmailTemplateFactory()
    EmailTemplate.all_objects.filter(pk=archived.pk).archive()
    assert EmailTemplate.all_objects.all().restore() == 1
    assert EmailTemplate.objects.filter(pk__in=[archived.pk, active.pk]).count() == 2
    assert EmailTemplate.all_objects.all().restore() == 0


def test_archive_and_restore_actions_count_what_they_changed(staff):
    first, second = EmailTemplateFactory(), EmailTemplateFactory()
    model_admin = TemplateAdmin(EmailTemplate, admin.site)
    request = _request(staff)
    model_admin.archive(request, EmailTemplate.all_objects.filter(pk=first.pk))
    model_admin.archive(request, EmailTemplate.all_objects.filter(pk__in=[first.pk, second.pk]))
    assert not EmailTemplate.objects.filter(pk__in=[first.pk, second.pk]).exists()
    # The admin still lists archived rows.
    assert set(model_admin.get_queryset(request).values_list("pk", flat=True)) >= {first.pk, second.pk}

    model_admin.restore(request, EmailTemplate.all_objects.filter(pk__in=[first.pk, second.pk]))
    assert EmailTemplate.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
    assert _said(request) == [
        (messages.SUCCESS, "1 template archived: the file default is used again."),
        (messages.SUCCESS, "1 template archived: the file default is used again."),  # the first was already
        (messages.SUCCESS, "2 templates restored."),
    ]


def test_archive_and_restore_descriptions_name_the_model():
    model_admin = TemplateAdmin(EmailTemplate, admin.site)
    request = _request(StaffUserFactory(is_superuser=True))
    choices = dict(model_admin.get_action_choices(request))
    assert choices["archive"] == "Archive selected email templates"
    assert choices["restore"] == "Restore selected email templates"
    assert "delete_selected" not in choices


def test_bulk_delete_is_offered_only_where_switched_on(staff):
    request = _request(staff)
    assert "delete_selected" not in TemplateAdmin(EmailTemplate, admin.site).get_actions(request)
    assert "delete_selected" in BulkTemplateAdmin(EmailTemplate, admin.site).get_actions(request)
    assert "delete_selected" not in GuardedEmailAdmin(EmailQueue, admin.site).get_actions(request)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_refused_delete_goes_back_to_the_row_and_suggests_archiving(staff, method):
    held = EmailTemplateFactory(key="held/welcome")
    model_admin = TemplateAdmin(EmailTemplate, admin.site)
    request = _request(staff, {"post": "yes"}, method=method)
    response = model_admin.delete_view(request, str(held.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:notifications_emailtemplate_change", args=[held.pk])
    assert _said(request) == [(messages.ERROR, "held/welcome is in use, so it cannot be deleted. Archive it instead.")]
    assert EmailTemplate.all_objects.filter(pk=held.pk).exists()


def test_a_row_without_a_refusal_is_deleted_as_usual(staff):
    free = EmailTemplateFactory(key="custom/free")
    model_admin = TemplateAdmin(EmailTemplate, admin.site)
    response = model_admin.delete_view(_request(staff, {"post": "yes"}), str(free.pk))
    assert response.status_code == 302
    assert not EmailTemplate.all_objects.filter(pk=free.pk).exists()


# --- count columns ------------------------------------------------------------------------


def test_a_count_column_counts_each_rows_relation_in_the_lists_one_query(staff, django_assert_num_queries):
    busy = EmailSequenceFactory(name="busy")
    EmailSequenceFactory(name="idle")
    SequenceEmailFactory.create_batch(3, sequence=busy)
    model_admin = SequenceAdmin(EmailSequence, admin.site)
    with django_assert_num_queries(1):
        queryset = model_admin.get_queryset(_request(staff, method="get"))
        rows = list(queryset.filter(name__in=["busy", "idle"]).order_by("name"))
        counts = [(row.name, model_admin.step_count(row)) for row in rows]
    assert counts == [("busy", 3), ("idle", 0)]


def test_a_count_column_is_sortable_and_headed_by_its_description():
    column = SequenceAdmin.step_count
    assert column.short_description == "steps"
    assert column.admin_order_field == "steps_count"


def test_the_changelist_sorts_by_the_count(staff):
    for name, steps in (("two", 2), ("none", 0), ("one", 1)):
        SequenceEmailFactory.create_batch(steps, sequence=EmailSequenceFactory(name=name))
    model_admin = SequenceAdmin(EmailSequence, admin.site)
    request = _request(staff, method="get")
    request.GET = request.GET.copy()
    request.GET["o"] = "-2"  # the second column, descending
    changelist = model_admin.get_changelist_instance(request)
    mine = changelist.get_queryset(request).filter(name__in=["two", "one", "none"])
    assert [row.name for row in mine] == ["two", "one", "none"]


def test_an_admin_without_count_columns_adds_no_annotation(staff):
    class PlainAdmin(CountColumnsMixin, admin.ModelAdmin):
        list_display = ("name",)

    EmailSequenceFactory(name="plain")
    queryset = PlainAdmin(EmailSequence, admin.site).get_queryset(_request(staff, method="get"))
    assert queryset.query.annotations == {}
