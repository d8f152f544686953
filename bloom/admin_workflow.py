"""The approval workflow in the admin (bloom/workflow.py, docs/adr/0390).

`WorkflowAdminMixin` puts an "Approval and publishing" section on a model's change page: the
item's state, its schedule (in the practice zone), the last refusal, a comment box and a time
box, the buttons the staff member may use, and the item's history. The buttons submit to the
mixin's own URL (`formaction`), so they work inside the change form without nesting forms.
Unpublishing, and publishing what cannot be taken back, ask for confirmation first.

Also registers the review queue (items in review, filterable by type), the per-type two-person
rule and the read-only history.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import zoneinfo

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bloom import workflow
from bloom.admin import ReadOnlyAdmin
from bloom.exceptions import ApplicationError
from bloom.workflow_models import ContentApprovalPolicy, ContentWorkflowEvent, ContentWorkflowState, WorkflowState

_TYPED = "bloom-workflow-typed"  # session key: what was typed when an action was refused
_REQUEST: contextvars.ContextVar = contextvars.ContextVar("bloom_workflow_request", default=None)


def practice_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(getattr(settings, "BLOOM_PRACTICE_TIME_ZONE", None) or settings.TIME_ZONE)


def in_practice_zone(moment: dt.datetime | None) -> str:
    """A time as staff read it: in the practice zone, with the zone named."""
    if moment is None:
        return ""
    zone = practice_zone()
    return f"{timezone.localtime(moment, zone):%a %d %b %Y, %H:%M} ({zone.key})"


def parse_practice_time(text: str) -> dt.datetime | None:
    """A `datetime-local` value typed in the practice zone, as an aware time (None: empty or unreadable)."""
    try:
        naive = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return naive.replace(tzinfo=practice_zone()) if timezone.is_naive(naive) else naive


# action -> (button label, service, needs the approve permission)
ACTIONS = {
    "submit": ("Submit for review", workflow.content_submit, False),
    "approve": ("Approve", workflow.content_approve, True),
    "request_changes": ("Request changes", workflow.content_request_changes, True),
    "publish": ("Publish now", workflow.content_publish, True),
    "schedule": ("Schedule", workflow.content_schedule, True),
    "unschedule": ("Take off the schedule", workflow.content_unschedule, True),
    "unpublish": ("Unpublish", workflow.content_unpublish, True),
}
_FROM = {
    WorkflowState.DRAFT: ("submit",),
    WorkflowState.IN_REVIEW: ("approve", "request_changes"),
    WorkflowState.APPROVED: ("publish", "schedule"),
    WorkflowState.SCHEDULED: ("publish", "schedule", "unschedule"),
    WorkflowState.PUBLISHED: ("unpublish",),
}
DONE = {
    "submit": "Submitted for review.",
    "approve": "Approved. It can now be published or scheduled.",
    "request_changes": "Sent back to the author with your comment.",
    "publish": "Published.",
    "schedule": "Scheduled for {when}.",
    "unschedule": "Taken off the schedule; it stays approved.",
    "unpublish": "Unpublished: it is a draft again and needs a new review.",
}


def _irreversible(kind, action: str) -> bool:
    return action == "unpublish" or (action == "publish" and kind.model._meta.model_name == "newslettercampaign")


def available_actions(*, user, obj, state: ContentWorkflowState) -> list[str]:
    kind = workflow.workflow_kind_for(obj)
    names = []
    for name in _FROM.get(state.state, ()):
        needs_approver = ACTIONS[name][2]
        if needs_approver and not workflow.user_may_approve(user=user):
            continue
        if not needs_approver and not workflow.user_may_submit(user=user, model=kind.model):
            continue
        if name == "schedule" and not kind.schedulable:
            continue
        names.append(name)
    return names


class WorkflowAdminMixin:
    """Adds the approval section, its buttons and their URL to a registered content model's admin."""

    workflow_section = "Approval and publishing"

    def get_urls(self):
        opts = self.model._meta
        own = [
            path(
                "<path:object_id>/workflow/<str:action>/",
                self.admin_site.admin_view(self.workflow_view),
                name=f"{opts.app_label}_{opts.model_name}_workflow",
            )
        ]
        return own + super().get_urls()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "workflow_panel"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        fieldsets = [
            (name, {**options, "fields": [f for f in options.get("fields", ()) if f != "workflow_panel"]})
            for name, options in fieldsets
        ]
        return [*fieldsets, (self.workflow_section, {"fields": ["workflow_panel"]})]

    @admin.display(description="Review")
    def workflow_panel(self, obj):
        request = _REQUEST.get()
        state = workflow.content_workflow_state_get(obj=obj)
        typed = (request.session.pop(_TYPED, None) if request is not None else None) or {}
        if typed.get("pk") != str(obj.pk):
            typed = {}
        lines = [format_html("<p><strong>{}</strong></p>", state.get_state_display())]
        if state.state == WorkflowState.SCHEDULED:
            lines.append(format_html("<p>Publishes on {}.</p>", in_practice_zone(state.publish_at)))
        if state.submitted_by_id and state.state != WorkflowState.DRAFT:
            lines.append(format_html("<p>Submitted by {}.</p>", state.submitted_by))
        if state.approved_by_id and state.state in (WorkflowState.APPROVED, WorkflowState.SCHEDULED):
            lines.append(format_html("<p>Approved by {}.</p>", state.approved_by))
        if state.refusal:
            lines.append(format_html('<p class="errornote">Not published on schedule: {}</p>', state.refusal))
        actions = available_actions(user=request.user, obj=obj, state=state) if request is not None else []
        if actions:
            opts = self.model._meta
            url = lambda name: reverse(  # noqa: E731
                f"admin:{opts.app_label}_{opts.model_name}_workflow", args=[obj.pk, name]
            )
            lines.append(
                format_html(
                    '<p><label for="id_workflow_comment">Comment for the history (required to request changes)'
                    '</label><br><textarea id="id_workflow_comment" name="workflow_comment" rows="3" cols="60">'
                    "{}</textarea></p>",
                    typed.get("comment", ""),
                )
            )
            if "schedule" in actions:
                lines.append(
                    format_html(
                        '<p><label for="id_workflow_publish_at">Publish at ({})</label><br>'
                        '<input type="datetime-local" id="id_workflow_publish_at" name="workflow_publish_at" '
                        'value="{}"></p>',
                        practice_zone().key,
                        typed.get("publish_at", ""),
                    )
                )
            lines.append(
                format_html(
                    "<p>{}</p>",
                    format_html_join(
                        " ",
                        '<button type="submit" class="button" formaction="{}" formnovalidate '
                        'name="workflow_action" value="{}">{}</button>',
                        ((url(name), name, ACTIONS[name][0]) for name in actions),
                    ),
                )
            )
        history = workflow.content_workflow_history(obj=obj)[:50]
        if history:
            rows = format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
                (
                    (
                        in_practice_zone(event.created_at),
                        event.actor or "Schedule (beat)",
                        event.get_from_state_display(),
                        event.get_to_state_display(),
                        event.comment,
                    )
                    for event in history
                ),
            )
            lines.append(
                format_html(
                    '<table class="workflow-history"><caption>History</caption><thead><tr><th scope="col">When</th>'
                    '<th scope="col">Who</th><th scope="col">Change</th><th scope="col">Comment</th></tr>'
                    "</thead><tbody>{}</tbody></table>",
                    rows,
                )
            )
        else:
            lines.append(format_html("<p>{}</p>", "No review yet: nothing has happened to it in the workflow."))
        return format_html_join("", "{}", ((line,) for line in lines))

    def render_change_form(self, request, context, *args, **kwargs):
        token = _REQUEST.set(request)  # the panel needs its reader (buttons, typed text)
        try:
            response = super().render_change_form(request, context, *args, **kwargs)
            response.render()  # the panel is drawn while the reader is known
            return response
        finally:
            _REQUEST.reset(token)

    def workflow_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, object_id)
        if obj is None or action not in ACTIONS or not self.has_view_permission(request, obj):
            raise Http404
        opts = self.model._meta
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        comment = request.POST.get("workflow_comment", "")
        when_text = request.POST.get("workflow_publish_at", "")
        kind = workflow.workflow_kind_for(obj)
        if _irreversible(kind, action) and request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": opts,
                "title": f"{ACTIONS[action][0]} “{obj}”?",
                "obj": obj,
                "comment": comment,
                "button": ACTIONS[action][0],
                "change_url": change_url,
                "intro": (
                    "It leaves the site for members and goes back to draft; it needs a new review to come back."
                    if action == "unpublish"
                    else "Publishing a campaign starts sending it. Sent emails cannot be taken back."
                ),
            }
            return TemplateResponse(request, "admin/bloom/workflow_confirm.html", context)
        service = ACTIONS[action][1]
        kwargs = {"obj": obj, "user": request.user, "comment": comment}
        when = None
        if action == "schedule":
            when = parse_practice_time(when_text)
            kwargs["publish_at"] = when
        try:
            service(**kwargs)
        except ApplicationError as exc:
            request.session[_TYPED] = {"pk": str(obj.pk), "comment": comment, "publish_at": when_text}
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, DONE[action].format(when=in_practice_zone(when)), messages.SUCCESS)
        return HttpResponseRedirect(change_url)


def _item_link(state: ContentWorkflowState):
    opts = state.content_type.model_class()._meta if state.content_type.model_class() else None
    if opts is None:
        return state.title
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[state.object_id])
    except NoReverseMatch:
        return state.title
    return format_html('<a href="{}">{}</a>', url, state.title or state.object_id)


class WorkflowTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        types = ContentType.objects.get_for_models(*(kind.model for kind in workflow.workflow_kinds()))
        return sorted(
            ((str(ct.pk), str(model._meta.verbose_name).capitalize()) for model, ct in types.items()),
            key=lambda x: x[1],
        )

    def queryset(self, request, queryset):
        return queryset.filter(content_type_id=self.value()) if self.value() else queryset


class WorkflowStateFilter(admin.SimpleListFilter):
    """In review unless staff choose another state: the queue is what waits for a reviewer."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*WorkflowState.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or WorkflowState.IN_REVIEW
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or WorkflowState.IN_REVIEW
        return queryset if value == "all" else queryset.filter(state=value)


@admin.register(ContentWorkflowState)
class ReviewQueueAdmin(ReadOnlyAdmin):
    list_display = ("item", "kind", "state", "submitted_by", "submitted_at", "scheduled_for", "refusal")
    list_filter = (WorkflowStateFilter, WorkflowTypeFilter)
    search_fields = ("title",)
    list_select_related = ("content_type", "submitted_by")
    ordering = ("submitted_at",)

    @admin.display(description="Item")
    def item(self, state):
        return _item_link(state)

    @admin.display(description="Type")
    def kind(self, state):
        model = state.content_type.model_class()
        return str(model._meta.verbose_name).capitalize() if model else state.content_type.model

    @admin.display(description="Publishes on", ordering="publish_at")
    def scheduled_for(self, state):
        return in_practice_zone(state.publish_at)


@admin.register(ContentWorkflowEvent)
class ContentWorkflowEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "content_type", "object_id", "actor", "from_state", "to_state", "comment")
    list_filter = ("content_type", "to_state")
    list_select_related = ("content_type", "actor")


@admin.register(ContentApprovalPolicy)
class ContentApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = ("content_type", "two_person_rule")
    list_editable = ("two_person_rule",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "content_type":
            types = ContentType.objects.get_for_models(*(kind.model for kind in workflow.workflow_kinds()))
            kwargs["queryset"] = ContentType.objects.filter(pk__in=[ct.pk for ct in types.values()])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
