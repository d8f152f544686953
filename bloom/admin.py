"""Admin building blocks shared by every app (its own models' pages register from
bloom/admin_audit.py, the audit trail, and bloom/admin_workflow.py, the approval workflow).

- `row_action`: an admin action that (optionally) shows one shared confirmation page, then
  calls a service for each selected row and writes one message per outcome.
- `DeleteGuardMixin` / `SoftDeleteAdmin`: deletion refused with a reason that says what to do
  instead, and archive / restore actions for soft-deleted models.
- `AdminViewsMixin`: a model's own extra admin pages, declared as a list.
- `count_column()` with `CountColumnsMixin`: a sortable column counting related rows.
- `ReadOnlyAdmin`, `YesNoFilter`, `ArchivedFilter`.
- `AuditedReadMixin`: opening a sensitive record's page writes a READ row in the audit trail.
- `ConstraintErrorsMixin`: a save the database refuses shows the constraint's sentence on the
  form, with what was typed kept (bloom/constraints.py, docs/adr/0240).
- `LargeTableMixin` / `LargeTablePaginator`: lists of tables that grow by the million (the audit
  trail, analytics, the outbox) count at most 10,000 matching rows and estimate the whole
  table's size from PostgreSQL's statistics (docs/adr/0430).

docs/admin.md shows how to write an action with them; docs/adr/0135-one-admin-toolkit.md says why.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, connections
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

from bloom.constraints import constraint_error, error_sentences
from bloom.exceptions import ApplicationError

CONFIRM_TEMPLATE = "admin/bloom/confirm_action.html"

COUNT_CAP = 10_000  # matching rows a large table's list counts exactly; beyond it, "more than"


class LargeTablePaginator(Paginator):
    """A paginator whose count stays cheap on a table of millions of rows.

    The whole table (no filter, no search) is counted from PostgreSQL's statistics
    (`pg_class.reltuples`, kept by autovacuum and ANALYZE) once it holds more than COUNT_CAP
    rows; a filtered list counts its matches up to COUNT_CAP + 1. `estimated` and `capped`
    say which, for the page's "about" / "more than" wording (templates/admin/pagination.html).
    """

    estimated = False
    capped = False
    estimate_table = ""  # for a list that reads a view: the table with one row per row of it

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = queryset.query
        if not query.where and not query.distinct and not query.combinator:
            table = self.estimate_table or queryset.model._meta.db_table
            with connections[queryset.db].cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
                row = cursor.fetchone()
            if row and row[0] > COUNT_CAP:
                self.estimated = True
                return int(row[0])
        found = queryset.order_by()[: COUNT_CAP + 1].count()
        if found > COUNT_CAP:
            self.capped = True
            return COUNT_CAP
        return found


def _unquoted(word: str) -> str:
    """A search word as Django's search reads it: a quoted phrase without its quotes."""
    quoted = word[0] in "\"'" and word[0] == word[-1] and len(word) > 1
    return unescape_string_literal(word) if quoted else word


RELATED_MATCHES = 500  # rows of a related table a search matches by id, at the most


class LargeTableMixin:
    """For the admin list of a table that grows without bound: `LargeTablePaginator`, no second
    count of the whole table beside a filtered one, and a search every branch of which an index
    serves (docs/adr/0450).

    The search matches each word of the term in any search field, as Django's does, with two
    differences. A field across a foreign key (`user__email`) is looked up in its own table first,
    where its search index serves it, and matched by id (at most RELATED_MATCHES rows; the page
    says so when there are more), so the list's query joins nothing for the search. A field named
    in `search_exact` matches the whole term as typed, which its plain btree index serves (an
    address, a Message-ID, a session id), instead of a `LIKE '%…%'` over millions of rows.
    """

    paginator = LargeTablePaginator
    show_full_result_count = False
    # Half Django's 100: rendering a row's cells, not the query, is most of such a page (cProfile:
    # 60 % of the outbox list at 100x); staff narrow these lists with a search or a filter.
    list_per_page = 50
    estimate_table = ""  # see LargeTablePaginator.estimate_table
    search_exact: Sequence[str] = ()

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        paginator.estimate_table = self.estimate_table
        return paginator

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        fields = self.get_search_fields(request)
        if not term or not fields:
            return queryset, False
        words = [_unquoted(word) for word in smart_split(term)]
        found = Q()
        for word in words:
            found &= functools.reduce(
                operator.or_,
                (
                    self._search_match(request, self.model, field, word)
                    for field in fields
                    if field not in self.search_exact
                ),
                Q(pk__in=[]),
            )
        for name in self.search_exact:
            found |= Q(**{name: term})
        return queryset.filter(found), False

    def _search_match(self, request, model, field: str, word: str) -> Q:
        name, _, rest = field.partition("__")
        relation = model._meta.get_field(name)
        if not rest:
            return Q(**{f"{name}__icontains": word})
        related = relation.related_model
        ids = list(
            related._base_manager.filter(self._search_match(request, related, rest, word))
            .order_by()
            .values_list("pk", flat=True)[: RELATED_MATCHES + 1]
        )
        if len(ids) > RELATED_MATCHES:
            ids = ids[:RELATED_MATCHES]
            self.message_user(
                request,
                f"More than {RELATED_MATCHES:,} {related._meta.verbose_name_plural} match “{word}”: "
                f"the list shows rows for {RELATED_MATCHES:,} of them. Type more to narrow it.",
                messages.WARNING,
            )
        return Q(**{f"{name}__in": ids})


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows only the system writes (webhook events, logs, views): staff can look, not touch."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def count_column(relation: str, description: str) -> Callable:
    """A sortable changelist column counting each row's `relation`, for a `CountColumnsMixin` admin.

    Assign it in the admin's class body and name it in `list_display`; the mixin annotates the
    count on the changelist's one query, so the column costs no query per row.
    """
    annotation = f"{relation}_count"

    @admin.display(description=description, ordering=annotation)
    def column(self, obj) -> int:
        return getattr(obj, annotation)

    column.counted = (annotation, relation)
    return column


def _related_count(model, relation: str):
    """`relation`'s rows per row of `model`: a subquery for a reverse foreign key, so only the
    page's rows are counted and the list's count leaves it out (a `GROUP BY` over every course's
    enrollments was 180 ms at 100x); a join and `COUNT` for any other relation."""
    field = model._meta.get_field(relation)
    if not field.one_to_many:
        return Count(relation)
    key = field.field.name
    rows = field.related_model._base_manager.filter(**{key: OuterRef("pk")}).order_by().values(key)
    return Coalesce(Subquery(rows.annotate(count=Count("*")).values("count")), 0)  # count(*): index only


class CountColumnsMixin:
    """Annotates the count of every `count_column()` named in `list_display`."""

    def get_queryset(self, request):
        columns = (getattr(self, name, None) for name in self.list_display if isinstance(name, str))
        counts = {
            column.counted[0]: _related_count(self.model, column.counted[1])
            for column in columns
            if hasattr(column, "counted")
        }
        return super().get_queryset(request).annotate(**counts)


def _save_refusal(exc: Exception) -> ValidationError:
    if isinstance(exc, IntegrityError):
        return constraint_error(exc)
    if isinstance(exc, ApplicationError):
        return ValidationError(exc.message)
    return exc


class ConstraintErrorsMixin:
    """A change form whose save PostgreSQL refuses (a race past the form's own constraint checks,
    or a constraint on a column the form does not show), or whose save the service refuses
    (ValidationError, ApplicationError), is shown again with the sentence on its field and
    everything typed kept, instead of a server error.

    The first save is rolled back whole (the admin saves in one transaction); the form is then
    validated once more with the refusal added, so nothing is saved twice.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (IntegrityError, ValidationError, ApplicationError) as exc:
            if request.method != "POST":
                raise
            request.bloom_constraint_error = _save_refusal(exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "bloom_constraint_error", None)
        if refusal is None:
            return form_class

        def clean(form):
            cleaned = form_class.clean(form)
            for name, errors in refusal.update_error_dict({}).items():
                form.add_error(name if name in form.fields else None, errors)
            return cleaned

        return type(form_class.__name__, (form_class,), {"clean": clean})


class AdminViewsMixin:
    """Extra admin pages of one model: `admin_views = [(route, view method name, name suffix)]`.

    Each is behind the admin's login (`admin_site.admin_view`), named
    `<app>_<model>_<suffix>` and matched before the model's own URLs.
    """

    admin_views: Sequence[tuple[str, str, str]] = ()

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path(route, self.admin_site.admin_view(getattr(self, view)), name=f"{prefix}_{suffix}")
            for route, view, suffix in self.admin_views
        ]
        return own + super().get_urls()


class YesNoFilter(admin.SimpleListFilter):
    """A two-way list filter: rows matching `condition` ("yes") or the others ("no")."""

    yes_label = "Yes"
    no_label = "No"
    condition: Q

    def lookups(self, request, model_admin):
        return [("yes", self.yes_label), ("no", self.no_label)]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.condition)
        if self.value() == "no":
            return queryset.exclude(self.condition)
        return queryset


class ArchivedFilter(YesNoFilter):
    """Active / archived for soft-deleted models (`archived_at`)."""

    title = "archived"
    parameter_name = "archived"
    yes_label, no_label = "Archived", "Active"
    condition = Q(archived_at__isnull=False)

    def lookups(self, request, model_admin):
        return [("no", self.no_label), ("yes", self.yes_label)]


# --- Counting in plain words -----------------------------------------------------------------


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`plural(1, "email")` is "1 email", `plural(5, "email")` "5 emails", `plural(0, ...)` "0 emails"."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


# --- Confirm, then apply a service to each row ------------------------------------------------


@dataclass(frozen=True)
class ConfirmField:
    """A text box on the confirmation page; its stripped value reaches the row function as `name=`.

    With `missing`, confirming with the box empty shows the page again with that text and
    changes nothing.
    """

    name: str
    label: str
    missing: str = ""
    rows: int = 3


@dataclass(frozen=True)
class Confirm:
    """What the shared confirmation page (templates/admin/bloom/confirm_action.html) shows.

    `columns` are (heading, function of a row) pairs for the table of selected rows;
    `related` is passed to select_related for that table.
    """

    title: str
    button: str
    intro: str = ""
    columns: Sequence[tuple[str, Callable[[Any], object]]] = ()
    related: Sequence[str] = ()
    field: ConfirmField | None = None


@dataclass
class Outcome:
    """What one run of a row action did: rows changed (with what the service returned),
    rows left as they were (the function returned False), rows refused (with the reason)."""

    modeladmin: Any
    noun: tuple[str, str | None]
    done: list[tuple[Any, Any]] = field(default_factory=list)
    unchanged: list[Any] = field(default_factory=list)
    refused: list[tuple[Any, str]] = field(default_factory=list)

    def things(self, count: int) -> str:
        return plural(count, *self.noun)

    @property
    def results(self) -> list[Any]:
        return [result for _, result in self.done]

    def say(self, message: Message, count: int | None = None) -> str:
        """`message` with `{things}` as the count of changed rows (or `count`) in words."""
        if callable(message):
            return message(self)
        count = len(self.done) if count is None else count
        return message.format(things=self.things(count), count=count)


Message = str | Callable[["Outcome"], str]


def _noun(modeladmin, things) -> tuple[str, str | None]:
    things = things or getattr(modeladmin, "things", None)
    if things is None:
        return str(modeladmin.opts.verbose_name), str(modeladmin.opts.verbose_name_plural)
    return (things, None) if isinstance(things, str) else things


def _refusal_text(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return error_sentences(constraint_error(exc))
    if isinstance(exc, ValidationError):
        return error_sentences(exc)
    return exc.message


def row_action(
    *,
    description: str,
    done: Message,
    things: str | tuple[str, str] | None = None,
    unchanged: Message = "",
    confirm: Confirm | None = None,
    rows: Callable[[Any], Any] | None = None,
    label: Callable[[Any], object] = str,
    permissions: Sequence[str] | None = None,
):
    """Build an admin action from a function that changes one row by calling a service.

    The decorated method is `(self, request, obj, **fields)`; it returns False when the row
    was already as asked (counted as left alone), anything else when it changed it, and raises
    ApplicationError or ValidationError to refuse that row (the reason is shown after
    `label(obj)`; the other rows go on).

    `things` names one row ("email", or ("entry", "entries"); by default the admin's own
    `things` or the model's verbose names); `done` is shown once with
    `{things}` replaced by the count ("{things} cancelled." reads "1 email cancelled.",
    "5 emails cancelled."), as a success when anything changed, else as a warning;
    `unchanged`, when given, is shown once more if some rows were left alone. Either may be a
    function of the Outcome instead. `rows` narrows the selection first (e.g. pending only).

    With `confirm`, the first POST shows the shared confirmation page listing the rows and
    changes nothing; only its "confirm=yes" re-post applies (cancelling goes back to the list).
    """

    def decorator(apply: Callable[..., Any]):
        @admin.action(description=description, permissions=permissions)
        @functools.wraps(apply)
        def action(modeladmin, request, queryset):
            if rows is not None:
                queryset = rows(queryset)
            values = {}
            if confirm is not None:
                values, error = _confirmed_values(request, confirm)
                if values is None:
                    return _confirm_page(modeladmin, request, queryset, confirm, apply.__name__, error)
            outcome = Outcome(modeladmin=modeladmin, noun=_noun(modeladmin, things))
            for obj in queryset:
                try:
                    result = apply(modeladmin, request, obj, **values)
                except (ApplicationError, ValidationError, IntegrityError) as exc:
                    outcome.refused.append((obj, _refusal_text(exc)))
                    continue
                if result is False:
                    outcome.unchanged.append(obj)
                else:
                    outcome.done.append((obj, result))
            level = messages.SUCCESS if outcome.done else messages.WARNING
            modeladmin.message_user(request, outcome.say(done), level)
            if unchanged and outcome.unchanged:
                modeladmin.message_user(request, outcome.say(unchanged, len(outcome.unchanged)), messages.INFO)
            for obj, reason in outcome.refused:
                modeladmin.message_user(request, f"{label(obj)}: {reason}", messages.ERROR)
            return None

        return action

    return decorator


def _confirmed_values(request, confirm: Confirm) -> tuple[dict | None, str]:
    """The confirmation page's values once staff confirmed (None until then), and any error to show."""
    confirmed = request.POST.get("confirm") == "yes"
    values = {}
    if confirm.field is not None:
        value = request.POST.get(confirm.field.name, "").strip()
        if confirmed and confirm.field.missing and not value:
            return None, confirm.field.missing
        values[confirm.field.name] = value
    return (values, "") if confirmed else (None, "")


def _confirm_page(modeladmin, request, queryset, confirm: Confirm, action: str, error: str):
    if confirm.related:
        queryset = queryset.select_related(*confirm.related)
    objects = list(queryset)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": confirm.title,
        "intro": confirm.intro,
        "button": confirm.button,
        "action": action,
        "error": error,
        "headings": [heading for heading, _ in confirm.columns],
        "rows": [(obj, [cell(obj) for _, cell in confirm.columns]) for obj in objects],
        "field": confirm.field,
        "field_value": request.POST.get(confirm.field.name, "") if confirm.field else "",
        "opts": modeladmin.opts,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


# --- Deletion refused with a reason; archive and restore --------------------------------------


class DeleteGuardMixin:
    """Delete rules in one place: `delete_refusal(obj)` says why a row may not be deleted
    (and what to do instead), or None. A refused delete page goes back to the row's own page
    with that reason.

    Bulk deletion is not offered unless `bulk_delete = True`: it cannot show the reason per
    row, so only admins whose held rows are protected by PROTECT foreign keys (which Django's
    bulk delete page refuses on its own) switch it on.
    """

    bulk_delete = False

    def delete_refusal(self, obj) -> str | None:
        return None

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.bulk_delete:
            actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        refusal = self.delete_refusal(obj) if obj is not None else None
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", obj.pk)
        return super().delete_view(request, object_id, extra_context)


class SoftDeleteAdmin(ConstraintErrorsMixin, DeleteGuardMixin, admin.ModelAdmin):
    """For SoftDeleteModel rows: the list shows archived rows too, with archive and restore
    actions; deleting a row members still hold is refused with a message suggesting archiving.

    Subclasses name what archiving means (`archive_description`, `archive_done`, ...), say
    when a row is held (`delete_refusal`), and override `archive_row` / `restore_row` where
    archiving goes through a service (lessons write a version, blog posts check the publish
    permission). The defaults use ActiveQuerySet.archive() / restore() on the one row.
    """

    things: str | tuple[str, str] | None = None  # default: the model's verbose names
    archive_description = "Archive selected %(verbose_name_plural)s"
    restore_description = "Restore selected %(verbose_name_plural)s"
    archive_done = "{things} archived."
    restore_done = "{things} restored."
    actions = ["archive", "restore"]

    def get_queryset(self, request):
        queryset = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_action(self, action):
        found = super().get_action(action)
        descriptions = {"archive": self.archive_description, "restore": self.restore_description}
        if found is not None and found[1] in descriptions:
            return found[0], found[1], descriptions[found[1]]
        return found

    def archive_row(self, request, obj):
        """Archive one row; return False when it already was."""
        return bool(self.model.all_objects.filter(pk=obj.pk).archive())

    def restore_row(self, request, obj):
        """Restore one row; return False when it was not archived."""
        return bool(self.model.all_objects.filter(pk=obj.pk).restore())

    @row_action(description="Archive selected rows", done=lambda o: o.say(o.modeladmin.archive_done))
    def archive(self, request, obj):
        return self.archive_row(request, obj)

    @row_action(description="Restore selected rows", done=lambda o: o.say(o.modeladmin.restore_done))
    def restore(self, request, obj):
        return self.restore_row(request, obj)


class AuditedReadMixin:
    """Opening a sensitive record's change page writes a READ row in the audit trail (ADR 0310).

    Lists show no sensitive text, so only the change (detail) page is a read; a download view
    calls `bloom.audit.audit_read_record(obj=..., request=..., what="cv")` itself.
    """

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            from django.contrib.admin.utils import unquote

            from bloom.audit import audit_read_record

            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.has_view_or_change_permission(request, obj):
                audit_read_record(obj=obj, request=request)
        return super().change_view(request, object_id, form_url, extra_context)


# The audit trail's admin and the approval workflow's pages (review queue, two-person rule, history).
from bloom import admin_audit, admin_workflow  # noqa: E402, F401
