"""The wellness summary PDF she brings to a session (reportlab, as the certificates: docs/adr/0041).

One or more letter pages: the period, her averages, a weekly table, a small drawn chart of
mood and anxiety, and her notes only when she asked for them. Pure: it draws what it is given.
"""

from __future__ import annotations

import textwrap

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import letter

from bloom.pdf import ACCENT, INK, MARGIN, MUTED, PdfPages, pdf_document, pdf_finish

from .selectors.wellness import WELLNESS_MEASURES, WellnessWeek
from .wellness_chart import STYLES


def _value(value, unit: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def _chart(pages: PdfPages, weeks: list[WellnessWeek], width: float) -> None:
    """Mood and anxiety weekly averages (1-5) as two lines, with a legend."""
    height = 120
    pages.need(height + 30)
    pdf = pages.pdf
    left, bottom, plot_w = MARGIN + 24, pages.y - height, width - 2 * MARGIN - 24
    pdf.setStrokeColor(MUTED)
    pdf.setLineWidth(0.6)
    pdf.line(left, bottom, left, bottom + height)
    pdf.line(left, bottom, left + plot_w, bottom)
    pdf.setFont("Helvetica", 8)
    pdf.setFillColor(INK)
    for value in range(1, 6):
        y = bottom + (value - 1) / 4 * height
        pdf.drawRightString(left - 4, y - 3, str(value))
    step = plot_w / max(len(weeks) - 1, 1)
    for index, week in enumerate(weeks):
        pdf.drawCentredString(left + index * step, bottom - 12, week.start.strftime("%-d %b"))
    for offset, field in enumerate(("mood", "anxiety")):
        colour = HexColor(STYLES[field][0])
        pdf.setStrokeColor(colour)
        pdf.setFillColor(colour)
        pdf.setLineWidth(1.5)
        pdf.setDash(*((3, 2) if field == "anxiety" else ()))
        previous = None
        for index, week in enumerate(weeks):
            value = week.value(field)
            if value is None:
                previous = None
                continue
            point = (left + index * step, bottom + (value - 1) / 4 * height)
            if previous is not None:
                pdf.line(*previous, *point)
            if field == "anxiety":
                pdf.rect(point[0] - 2.5, point[1] - 2.5, 5, 5, stroke=0, fill=1)
            else:
                pdf.circle(*point, 2.5, stroke=0, fill=1)
            previous = point
        pdf.setDash()
        pdf.drawString(left + 10 + offset * 80, bottom + height + 8, "Mood" if field == "mood" else "Anxiety")
    pages.y = bottom - 30


def wellness_summary_pdf(
    *,
    name: str,
    start,
    end,
    averages: dict,
    weeks: list[WellnessWeek],
    entries: list | None,
) -> bytes:
    """The summary for the days `start` to `end`. `entries` (oldest first) are the check-ins
    whose notes go in it, or None to leave every note out."""
    width, height = letter
    buffer, pdf = pdf_document(title="Wellness check-in summary", author="Bloom Psychology")
    pages = PdfPages(pdf, height)

    pdf.setFillColor(ACCENT)
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(MARGIN, pages.y, "BLOOM PSYCHOLOGY")
    pages.y -= 26
    pages.line("Wellness check-in summary", font="Helvetica-Bold", size=18, gap=22)
    pages.line(f"{name}: {start:%-d %B %Y} to {end:%-d %B %Y}", size=11, gap=16)
    count = averages.get("entries") or 0
    pages.line(
        f"{count} check-in{'s' if count != 1 else ''} in this period. Scales: 1 to 5, sleep in hours.",
        size=10,
        gap=24,
    )

    pages.line("Averages for the period", font="Helvetica-Bold", size=12, gap=16)
    for field, label, scale in WELLNESS_MEASURES:
        unit = " h" if field == "sleep_hours" else ""
        pages.line(f"{label}: {_value(averages.get(field), unit)}   ({scale})", x=MARGIN + 10)
    pages.y -= 10

    pages.line("Week by week", font="Helvetica-Bold", size=12, gap=18)
    columns = [
        ("Week of", 0),
        ("Check-ins", 80),
        *((label, 150 + i * 66) for i, (_f, label, _s) in enumerate(WELLNESS_MEASURES)),
    ]
    pages.need(16)
    pdf.setFont("Helvetica-Bold", 9)
    for text, dx in columns:
        pdf.drawString(MARGIN + dx, pages.y, text)
    pages.y -= 13
    for week in weeks:
        pages.need(13)
        pdf.setFont("Helvetica", 9)
        pdf.setFillColor(INK)
        cells = [week.start.strftime("%-d %b"), str(week.entries)]
        for field, _label, _scale in WELLNESS_MEASURES:
            cells.append(_value(week.value(field), " h" if field == "sleep_hours" else ""))
        for (_, dx), text in zip(columns, cells, strict=True):
            pdf.drawString(MARGIN + dx, pages.y, text)
        pages.y -= 13
    pages.y -= 16
    if count:
        pages.line("Mood and anxiety, weekly averages", font="Helvetica-Bold", size=12, gap=24)
        _chart(pages, weeks, width)

    if entries is not None:
        pages.line("My notes", font="Helvetica-Bold", size=12, gap=18)
        with_notes = [entry for entry in entries if entry.notes.strip()]
        if not with_notes:
            pages.line("No notes in this period.", x=MARGIN + 10)
        for entry in with_notes:
            pages.line(f"{entry.entry_date:%a %-d %b}", font="Helvetica-Bold", size=10, x=MARGIN + 10)
            for paragraph in entry.notes.splitlines() or [""]:
                for text in textwrap.wrap(paragraph, 95) or [""]:
                    pages.line(text, x=MARGIN + 20, gap=13)
            pages.y -= 4

    pages.need(30)
    return pdf_finish(buffer, pdf, footer="Private health information. Shared by the member for her own care.")
