"""The wellness trend charts: weekly averages drawn as server-side SVG (no front-end build),
the same approach as the screening timeline (accounts.screening_chart, docs/adr/0101).

Two charts over the same weeks: the 1-5 ratings (mood, anxiety, energy, support) together,
and hours of sleep on its own scale. Each measure has its own marker shape and line dash, so
nothing depends on colour alone; a week without a check-in leaves a gap in the line rather
than a made-up value. Every chart carries a title and a summary sentence for screen readers,
and the page shows the same numbers as a table (templates/accounts/wellness.html).
Pure: no queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .screening_chart import INK, MUTED, _fmt
from .selectors.wellness import WELLNESS_MEASURES, WellnessWeek

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 34, 40
# Per measure: colour (at least 4.5:1 on white), dash pattern, marker shape.
STYLES = {
    "mood": ("#7a3e6b", "", "circle"),
    "anxiety": ("#9a3412", "6 3", "square"),
    "energy": ("#1d4ed8", "2 3", "triangle"),
    "support": ("#166534", "8 3 2 3", "diamond"),
    "sleep_hours": ("#374151", "", "circle"),
}
LABELS = {field: label for field, label, _scale in WELLNESS_MEASURES}
RATINGS = ("mood", "anxiety", "energy", "support")
RATINGS_TITLE = "Mood, anxiety, energy and support: weekly averages (1 to 5)"
SLEEP_TITLE = "Sleep: average hours a night, by week"


@dataclass(frozen=True)
class WellnessChart:
    key: str
    title: str
    summary: str
    svg: SafeString


def _day(week: WellnessWeek) -> str:
    return week.start.strftime("%-d %b")


def _marker(shape: str, x: float, y: float, colour: str, tip: str) -> str:
    title = f"<title>{escape(tip)}</title>"
    if shape == "square":
        return f'<rect x="{_fmt(x - 4.5)}" y="{_fmt(y - 4.5)}" width="9" height="9" fill="{colour}">{title}</rect>'
    if shape == "triangle":
        return f'<path d="M{_fmt(x)} {_fmt(y - 6)}l6 10.5h-12z" fill="{colour}">{title}</path>'
    if shape == "diamond":
        return f'<path d="M{_fmt(x)} {_fmt(y - 6)}l6 6-6 6-6-6z" fill="{colour}">{title}</path>'
    return f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="4.5" fill="{colour}">{title}</circle>'


def _svg(*, key: str, title: str, summary: str, weeks: list[WellnessWeek], fields: tuple[str, ...], low, high) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(weeks) - 1, 1)

    def sx(index: int) -> float:
        return LEFT + index * step if len(weeks) > 1 else LEFT + plot_w / 2

    def sy(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="wellness-{key}-title wellness-{key}-desc" class="screening-chart wellness-chart">',
        f'<title id="wellness-{key}-title">{escape(title)}</title>',
        f'<desc id="wellness-{key}-desc">{escape(summary)}</desc>',
        f'<path d="M{LEFT} {TOP}V{TOP + plot_h}H{LEFT + plot_w}" fill="none" stroke="{MUTED}" stroke-width="1"/>',
    ]
    ticks = range(int(low), int(high) + 1) if high - low <= 6 else range(int(low), int(high) + 1, 2)
    for value in ticks:
        y = _fmt(sy(value))
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + plot_w}" y2="{y}" stroke="#e5e7eb"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{_fmt(sy(value) + 4)}" font-size="11" text-anchor="end" '
            f'fill="{INK}">{value}</text>'
        )
    for index, week in enumerate(weeks):
        if (len(weeks) - 1 - index) % 2 == 0:  # every other week, counted back from the current one
            x = _fmt(sx(index))
            last = index == len(weeks) - 1
            label = "This week" if last else _day(week)
            anchor = "end" if last and len(weeks) > 1 else "middle"  # the last label stays inside the chart
            parts.append(
                f'<text x="{x}" y="{TOP + plot_h + 18}" font-size="11" text-anchor="{anchor}" fill="{INK}">{label}</text>'
            )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" font-size="12" text-anchor="middle" '
        f'fill="{INK}">Weeks, starting Monday</text>'
    )
    # Legend along the top: marker, then the measure's name.
    x = LEFT
    for field in fields:
        colour, dash, shape = STYLES[field]
        parts.append(
            f'<line x1="{x}" y1="14" x2="{x + 22}" y2="14" stroke="{colour}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        parts.append(_marker(shape, x + 11, 14, colour, LABELS[field]))
        parts.append(f'<text x="{x + 28}" y="18" font-size="12" fill="{INK}">{LABELS[field]}</text>')
        x += 40 + 8 * len(LABELS[field])
    # One line per measure, broken where a week has no value; a marker at every week that has one.
    for field in fields:
        colour, dash, shape = STYLES[field]
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, week in enumerate(weeks):
            value = week.value(field)
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_fmt(sx(index))},{_fmt(sy(value))}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + "/>"
                )
        for index, week in enumerate(weeks):
            value = week.value(field)
            if value is not None:
                tip = f"{LABELS[field]} {_fmt(value)}, week of {_day(week)} ({week.entries} check-in{'s' if week.entries != 1 else ''})"
                parts.append(_marker(shape, sx(index), sy(value), colour, tip))
    parts.append("</svg>")
    return "".join(parts)


def _summary(weeks: list[WellnessWeek], fields: tuple[str, ...], unit: str) -> str:
    answered = [week for week in weeks if week.entries]
    if not answered:
        return "No check-ins in these weeks yet."
    first, last = answered[0], answered[-1]
    bits = []
    for field in fields:
        values = [week for week in answered if week.value(field) is not None]
        if not values:
            continue
        start, end = values[0].value(field), values[-1].value(field)
        if len(values) == 1:
            bits.append(f"{LABELS[field].lower()} {_fmt(end)}{unit}")
        else:
            bits.append(
                f"{LABELS[field].lower()} {_fmt(start)}{unit} in the week of {_day(values[0])}, {_fmt(end)}{unit} in the week of {_day(values[-1])}"
            )
    count = sum(week.entries for week in answered)
    span = f"the week of {_day(first)}" if first is last else f"the weeks of {_day(first)} to {_day(last)}"
    return f"{count} check-in{'s' if count != 1 else ''} in {span}. Weekly averages: " + "; ".join(bits) + "."


def _chart(weeks: list[WellnessWeek], *, key: str, title: str, fields: tuple[str, ...], unit: str, low, high):
    """One chart: its summary sentence, and the SVG that carries the same title and summary."""
    summary = _summary(weeks, fields, unit)
    svg = _svg(key=key, title=title, summary=summary, weeks=weeks, fields=fields, low=low, high=high)
    # every interpolated text in the SVG is escaped or a constant
    return WellnessChart(key=key, title=title, summary=summary, svg=mark_safe(svg))  # noqa: S308


def wellness_charts(weeks: list[WellnessWeek]) -> list[WellnessChart]:
    """The ratings chart and the sleep chart for these weeks; [] when none has a check-in
    (the page shows its empty state instead)."""
    if not any(week.entries for week in weeks):
        return []
    charts = [_chart(weeks, key="ratings", title=RATINGS_TITLE, fields=RATINGS, unit="", low=1, high=5)]
    if any(week.sleep_hours is not None for week in weeks):
        top = max(week.sleep_hours for week in weeks if week.sleep_hours is not None)
        high = max(10, int(top) + (2 - int(top) % 2))
        charts.append(
            _chart(weeks, key="sleep", title=SLEEP_TITLE, fields=("sleep_hours",), unit=" h", low=0, high=high)
        )
    return charts
