"""The report pages of the admin (docs/admin.md "Reports"): an index, and one page per report.

Staff only (`admin.site.admin_view`), and each report behind the Django permission its
definition names (bloom/reports.py): a staff member without it gets the 403 page, and the
index and the admin home list only the reports they may open. A page is a date-range form
(from / to, with presets), then per section a summary sentence, an SVG chart where the
section has one, and the table of the same rows; `?export=<section>` downloads those rows
as CSV. Queries per page: the session's, one for "Figures as of", one per section. A section
with `page_rows` (per workshop) shows its first rows and says how many the CSV has.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import numberformat, timezone
from django.utils.formats import get_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from bloom.downloads import file_response
from bloom.reports import REPORTS, Report, Section, report_refreshed_at, report_section_get
from bloom.spreadsheet import csv_text

DEFAULT_DAYS = 365
LONGEST_RANGE_DAYS = 366 * 10


def reports_for(user) -> list[Report]:
    """The reports `user` may open, in the order of the index."""
    return [report for report in REPORTS.values() if user.has_perm(report.permission)]


class DateRangeForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The “From” date is after the “To” date: swap them or pick another day.")
            if (end - start).days > LONGEST_RANGE_DAYS:
                raise forms.ValidationError("Choose at most ten years at a time.")
        return data


@dataclass(frozen=True)
class Preset:
    label: str
    start: datetime.date
    end: datetime.date


def presets(today: datetime.date) -> list[Preset]:
    """The quick ranges offered above the form, ending today (the reader's today)."""
    return [
        Preset("Last 30 days", today - datetime.timedelta(days=29), today),
        Preset("Last 90 days", today - datetime.timedelta(days=89), today),
        Preset("This year", today.replace(month=1, day=1), today),
        Preset("Last 12 months", today - datetime.timedelta(days=DEFAULT_DAYS - 1), today),
    ]


def _number_format() -> Callable[..., str]:
    """`number_format(value, decimal_pos, force_grouping=True)` with the locale's separators
    looked up once (a page formats a few thousand figures)."""
    decimal, grouping, thousands = (
        get_format(name) for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
    )

    def number(value, decimal_pos=None) -> str:
        return numberformat.format(value, decimal, decimal_pos, grouping, thousands, force_grouping=True)

    return number


def _display(kind: str, value, number: Callable[..., str] | None = None) -> str:
    if value is None:
        return "—"
    number = number or _number_format()
    if kind == "money":
        return number(value, decimal_pos=2)
    if kind == "pct":
        return f"{value}%"
    if kind == "int":
        return number(value)
    if kind == "date":
        return value.strftime("%-d %b %Y")
    if kind == "month":
        return datetime.date.fromisoformat(f"{value}-01").strftime("%b %Y")
    return str(value)


def _range(request) -> tuple[DateRangeForm, datetime.date | None, datetime.date | None]:
    """The form bound to the query (or to the default range) and the range it gives (None, None when invalid)."""
    today = timezone.localdate()
    if "start" in request.GET or "end" in request.GET:
        form = DateRangeForm(request.GET)
    else:
        default = presets(today)[-1]
        form = DateRangeForm({"start": default.start.isoformat(), "end": default.end.isoformat()})
    if form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    return form, None, None


def _report(request, slug: str) -> Report:
    report = REPORTS.get(slug)
    if report is None:
        raise Http404("No such report.")
    if not request.user.has_perm(report.permission):
        raise PermissionDenied
    return report


def _csv(report: Report, section: Section, result, start: datetime.date, end: datetime.date) -> HttpResponse:
    text = csv_text([column.label for column in section.columns], result.table())
    name = f"bloom-{report.slug}-{section.key}-{start.isoformat()}-to-{end.isoformat()}.csv"
    return file_response(text, content_type="text/csv; charset=utf-8", filename=name)


def _rows_html(columns, table: list[list]) -> SafeString:
    """The table's body rows: the first cell a row header, numbers right-aligned. Built here
    rather than by template loops, which cost more than the query on a table of 200 courses."""
    number = _number_format()
    opens = ["<td>" if not column.numeric else '<td class="num">' for column in columns[1:]]
    body = []
    for row in table:
        head, *rest = (escape(_display(column.kind, value, number)) for column, value in zip(columns, row, strict=True))
        cells = "".join(f"{td}{cell}</td>" for td, cell in zip(opens, rest, strict=True))
        body.append(f'<tr><th scope="row">{head}</th>{cells}</tr>')
    return mark_safe("\n".join(body))  # noqa: S308 - every cell is escaped above


def _cut_note(result) -> str:
    """What a section showing only its first rows says (nothing when it shows them all)."""
    if not result.cut:
        return ""
    return f"The first {len(result.rows):,} of {result.total:,} rows; the CSV has them all."


def report_page(request, slug: str):
    """One report for the chosen dates, or one section of it as CSV (`?export=<section key>`)."""
    report = _report(request, slug)
    form, start, end = _range(request)
    export = request.GET.get("export")
    if export is not None:
        section = next((s for s in report.sections if s.key == export), None)
        if section is None or start is None:
            raise Http404("Nothing to export for these dates.")
        return _csv(report, section, report_section_get(section=section, start=start, end=end), start, end)
    results = [report_section_get(section=s, start=start, end=end, page=True) for s in report.sections] if start else []
    sections = [
        {
            "result": result,
            "columns": result.section.columns,
            "rows": _rows_html(result.section.columns, result.table()),
            "export_query": f"start={start.isoformat()}&end={end.isoformat()}&export={result.section.key}",
            "cut_note": _cut_note(result),
        }
        for result in results
    ]
    context = {
        **admin.site.each_context(request),
        "title": report.title,
        "report": report,
        "reports": reports_for(request.user),
        "form": form,
        "presets": presets(timezone.localdate()),
        "sections": sections,
        "refreshed_at": report_refreshed_at(),
        "practice_zone": settings.BLOOM_PRACTICE_TIME_ZONE,
    }
    return TemplateResponse(request, "admin/bloom/reports/report.html", context)


def report_index(request):
    """The reports this staff member may open."""
    reports = reports_for(request.user)
    if not reports:
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": "Reports", "reports": reports}
    return TemplateResponse(request, "admin/bloom/reports/index.html", context)


def report_urls() -> list:
    """URL patterns mounted at /admin/reports/ by bloom/urls.py (before the admin's own)."""
    return [
        path("", admin.site.admin_view(report_index), name="report_index"),
        path("<slug:slug>/", admin.site.admin_view(report_page), name="report_page"),
    ]
