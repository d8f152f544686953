"""The audit trail in the admin: read-only for everyone, searchable by person and by record,
exported as CSV by the owner (docs/adr/0310)."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpResponse
from django.utils import timezone

from bloom.admin import LargeTableMixin, ReadOnlyAdmin
from bloom.audit import audit_csv_write, audited_tables
from bloom.models import AuditEntry

EXPORT_PERMISSION = "bloom.export_auditentry"


class AuditedTableFilter(admin.SimpleListFilter):
    """The trail's tables, from the audit's own list (`audited_tables`), not a DISTINCT over
    millions of rows (1.9 s at 100x)."""

    title = "table"
    parameter_name = "table_name"

    def lookups(self, request, model_admin):
        return [(table.table, table.table) for table in audited_tables()]

    def queryset(self, request, queryset):
        return queryset.filter(table_name=self.value()) if self.value() else queryset


# The trail's table names, one index probe of audit_trail_record each (a loose index scan): about
# 1 ms on the 8.9 M rows at 100x, where a DISTINCT reads them all (1.9 s).
TRAIL_TABLES_SQL = """
WITH RECURSIVE names(name) AS (
    SELECT min(table_name) FROM audit_trail
    UNION ALL
    SELECT (SELECT min(table_name) FROM audit_trail WHERE table_name > names.name) FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL
"""


def _row_q(queryset, row_pk: str) -> Q:
    """Entries of the row `row_pk` in any table: the table names spelled out, so that
    audit_trail_record (table_name, row_pk) serves the match instead of a scan of the trail."""
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(TRAIL_TABLES_SQL)
        tables = [name for (name,) in cursor.fetchall()]
    return Q(table_name__in=tables, row_pk=row_pk)


def _as_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeTableMixin, ReadOnlyAdmin):
    """Search: a person's email or user id (as actor or as whose data), a record as
    `table:pk` (e.g. `contact_submissions:<id>`), or a bare row id."""

    list_display = [
        "occurred_at",
        "operation",
        "table_name",
        "row_pk",
        "actor_kind",
        "actor",
        "actor_label",
        "source",
        "subject",
    ]
    # No date hierarchy: its first level is a DISTINCT over every row's year (4 s at 100x);
    # the occurred_at filter gives today, the past 7 days, this month and this year.
    list_filter = ["operation", "actor_kind", "occurred_at", AuditedTableFilter]
    search_fields = ["row_pk"]
    search_help_text = "A person's email or user id, a record as table:id, or a row id."
    actions = ["export_csv"]
    readonly_fields = [
        *list_display,
        "actor_user_id",
        "subject_user_id",
        "request_id",
        "changed_columns",
        "before",
        "after",
        "txid",
    ]

    def get_queryset(self, request):
        # Who, in words: the actor's and the data subject's current email, looked up per shown row
        # (the trail keeps ids only, so an erased member shows her anonymised address).
        users = get_user_model().objects.values("email")
        return (
            super()
            .get_queryset(request)
            .annotate(
                actor_email=Subquery(users.filter(pk=OuterRef("actor_user_id"))[:1]),
                subject_email=Subquery(users.filter(pk=OuterRef("subject_user_id"))[:1]),
            )
        )

    @admin.display(description="By", ordering="actor_user_id")
    def actor(self, entry):
        return entry.actor_email or entry.actor_user_id or "-"

    @admin.display(description="Whose data", ordering="subject_user_id")
    def subject(self, entry):
        return entry.subject_email or entry.subject_user_id or "-"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            ids = list(get_user_model().objects.filter(email__iexact=term).values_list("pk", flat=True))
            return queryset.filter(Q(actor_user_id__in=ids) | Q(subject_user_id__in=ids)), False
        table, sep, pk = term.partition(":")
        if sep and table and pk:
            return queryset.filter(table_name=table.strip(), row_pk=pk.strip()), False
        user_id = _as_uuid(term)
        if user_id is not None:
            return queryset.filter(
                Q(actor_user_id=user_id) | Q(subject_user_id=user_id) | _row_q(queryset, str(user_id))
            ), False
        return queryset.filter(_row_q(queryset, term)), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(EXPORT_PERMISSION):
            actions.pop("export_csv", None)
        return actions

    @admin.action(description="Export selected entries as CSV (for an auditor)")
    def export_csv(self, request, queryset):
        if not request.user.has_perm(EXPORT_PERMISSION):
            self.message_user(request, "Only the owner can export the audit trail.", messages.ERROR)
            return None
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="bloom-audit-trail-{stamp}.csv"'
        response["Cache-Control"] = "private, no-store"
        audit_csv_write(entries=queryset.order_by("id").iterator(chunk_size=2000), out=response)
        return response
