"""The screening timeline chart: one server-drawn SVG per questionnaire (no front-end build).

Scores are plotted against her perinatal timeline: weeks of pregnancy, then weeks after the
birth, on one axis (birth at week 42 of the axis so a late birth never overlaps a postpartum
week). When any response has no place on that timeline (a member who is not pregnant or
postpartum, or gave no date), the axis is weeks since her first screening instead. The band
boundaries are drawn as labelled lines, urgent results as a second marker shape (not colour
alone), and every chart comes with a data table for screen readers and for anyone who
prefers numbers (templates/accounts/screening_timeline.html).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .screening import INSTRUMENTS, Instrument, change_since, week_label

BIRTH_AT = 42  # where the birth sits on the combined axis (weeks of pregnancy shown: 0-42)
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 20, 16, 48
BAND_FILLS = ("#eef7f0", "#f5f7e6", "#fff4e5", "#fdefe6", "#fde8ec")
LINE = "#7a3e6b"
URGENT = "#a3152b"
INK = "#1f2a37"
MUTED = "#4b5563"

# Ticks on the perinatal axis: (axis position, label).
PERINATAL_TICKS = (
    (0, "Pregnancy"),
    (13, "Wk 13"),
    (28, "Wk 28"),
    (BIRTH_AT, "Birth"),
    (BIRTH_AT + 6, "6 wk"),
    (BIRTH_AT + 13, "3 mo"),
    (BIRTH_AT + 26, "6 mo"),
    (BIRTH_AT + 52, "12 mo"),
    (BIRTH_AT + 104, "2 yr"),
)


@dataclass(frozen=True)
class Point:
    response: object
    x: float
    place: str  # "6 weeks after birth", "" off the perinatal timeline
    when: str  # "6 weeks after birth, 2 May 2026"


@dataclass
class Chart:
    instrument: Instrument
    points: list[Point]
    axis: str  # "perinatal" or "since_first"
    svg: SafeString = field(default=SafeString(""))

    @property
    def latest(self):
        return self.points[-1].response

    @property
    def previous(self):
        return self.points[-2].response if len(self.points) > 1 else None

    @property
    def change(self) -> str:
        return change_since(self.instrument, previous=self.previous, current=self.latest)


def _perinatal_x(response) -> float | None:
    if response.perinatal_week is None:
        return None
    if response.perinatal_stage == "pregnant":
        return float(response.perinatal_week)
    if response.perinatal_stage == "postpartum":
        return float(BIRTH_AT + response.perinatal_week)
    return None


def _when(response) -> str:
    day = timezone.localtime(response.taken_at).strftime("%-d %b %Y")
    place = week_label(response.perinatal_stage, response.perinatal_week)
    return f"{place}, {day}" if place else day


def timeline_charts(responses: list) -> list[Chart]:
    """One chart per questionnaire she has taken (in INSTRUMENTS order), from her responses
    oldest first. Pure: no queries, whatever the number of responses."""
    if not responses:
        return []
    perinatal = all(_perinatal_x(r) is not None for r in responses)
    first = responses[0].taken_at
    charts = []
    for key, instrument in INSTRUMENTS.items():
        mine = [r for r in responses if r.instrument == key]
        if not mine:
            continue
        points = [
            Point(
                response=r,
                x=_perinatal_x(r) if perinatal else (r.taken_at - first).total_seconds() / (7 * 86400),
                place=week_label(r.perinatal_stage, r.perinatal_week),
                when=_when(r),
            )
            for r in mine
        ]
        chart = Chart(instrument=instrument, points=points, axis="perinatal" if perinatal else "since_first")
        chart.svg = _svg(chart)
        charts.append(chart)
    return charts


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart: Chart) -> SafeString:
    instrument = chart.instrument
    xs = [p.x for p in chart.points]
    low, high = min(xs), max(xs)
    if high - low < 8:  # one screening, or a few close together: show some timeline around them
        middle = (low + high) / 2
        low, high = middle - 4, middle + 4
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    if chart.axis == "since_first":
        low = max(low, 0.0)
    max_y = instrument.max_total
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - low) / (high - low) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - y / max_y * plot_h

    slug = instrument.key
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{slug}-title chart-{slug}-desc" class="screening-chart">',
        f'<title id="chart-{slug}-title">{escape(instrument.short_name)} scores over time</title>',
        f'<desc id="chart-{slug}-desc">{escape(_description(chart))}</desc>',
    ]
    # Bands as shaded stripes with their name at the left edge of the stripe.
    for index, band in enumerate(instrument.bands):
        fill = BAND_FILLS[round(index * (len(BAND_FILLS) - 1) / max(len(instrument.bands) - 1, 1))]
        top, bottom = sy(band.high + (1 if band.high < max_y else 0)), sy(band.low)
        parts.append(f'<rect x="{LEFT}" y="{_fmt(top)}" width="{plot_w}" height="{_fmt(bottom - top)}" fill="{fill}"/>')
        parts.append(
            f'<text x="{LEFT + 6}" y="{_fmt(top + 13)}" font-size="11" fill="{MUTED}">{escape(band.label)}</text>'
        )
    # Axes and y ticks.
    parts.append(
        f'<path d="M{LEFT} {TOP}V{TOP + plot_h}H{LEFT + plot_w}" fill="none" stroke="{MUTED}" stroke-width="1"/>'
    )
    for band in instrument.bands:
        y = sy(band.low)
        parts.append(
            f'<text x="{LEFT - 6}" y="{_fmt(y + 4)}" font-size="11" text-anchor="end" fill="{INK}">{band.low}</text>'
        )
    parts.append(
        f'<text x="{LEFT - 6}" y="{_fmt(sy(max_y) + 4)}" font-size="11" text-anchor="end" fill="{INK}">{max_y}</text>'
    )
    # X ticks.
    for x, label in _x_ticks(chart.axis, low, high):
        px = sx(x)
        parts.append(
            f'<line x1="{_fmt(px)}" y1="{TOP + plot_h}" x2="{_fmt(px)}" y2="{TOP + plot_h + 5}" stroke="{MUTED}"/>'
        )
        parts.append(
            f'<text x="{_fmt(px)}" y="{TOP + plot_h + 18}" font-size="11" text-anchor="middle" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    if chart.axis == "perinatal" and low <= BIRTH_AT <= high:
        bx = _fmt(sx(BIRTH_AT))
        parts.append(
            f'<line x1="{bx}" y1="{TOP}" x2="{bx}" y2="{TOP + plot_h}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
        )
    axis_title = "Your pregnancy and the weeks after birth" if chart.axis == "perinatal" else "Weeks since your first"
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle" '
        f'fill="{INK}">{axis_title}</text>'
    )
    # The line through her scores, then a marker per score (a diamond for an urgent one).
    if len(chart.points) > 1:
        coords = " ".join(f"{_fmt(sx(p.x))},{_fmt(sy(p.response.total))}" for p in chart.points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for p in chart.points:
        cx, cy = _fmt(sx(p.x)), _fmt(sy(p.response.total))
        tip = escape(f"{p.response.total} of {max_y}, {p.when}")
        if p.response.urgent:
            parts.append(
                f'<path d="M{cx} {_fmt(float(cy) - 7)}l7 7-7 7-7-7z" fill="{URGENT}">'
                f"<title>{tip} (needed attention)</title></path>"
            )
        else:
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="5" fill="{LINE}"><title>{tip}</title></circle>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped


def _x_ticks(axis: str, low: float, high: float) -> list[tuple[float, str]]:
    if axis == "perinatal":
        return [(x, label) for x, label in PERINATAL_TICKS if low <= x <= high]
    span = high - low
    step = next(s for s in (1, 2, 4, 8, 13, 26, 52, 104, 520) if span / s <= 8)
    first = int(low // step + (1 if low % step else 0)) * step
    return [(float(x), f"{x} wk") for x in range(first, int(high) + 1, step)]


def _description(chart: Chart) -> str:
    count = len(chart.points)
    latest = chart.latest
    band = chart.instrument.band(latest.band)
    text = (
        f"{count} screening{'s' if count != 1 else ''}. Latest: {latest.total} of {chart.instrument.max_total} "
        f"({band.label}), {chart.points[-1].when}."
    )
    if chart.previous is not None:
        text += f" Before that: {chart.previous.total}, {chart.points[-2].when}."
    return text
