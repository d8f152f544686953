"""Grouped bar charts for the admin reports, drawn as server-side SVG (no front-end build).

The house style of accounts/wellness_chart.py: an SVG with a <title> and a <desc> carrying
the summary sentence, every bar with its own <title> (the figure on hover and for screen
readers), and a legend whose series differ by fill pattern as well as colour, so nothing
depends on colour alone. The page shows the same numbers as a table. Pure: no queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

INK = "#1f2a37"
MUTED = "#4b5563"
GRID = "#e5e7eb"
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 48
# Per series, in order: colour (at least 3:1 against white) and fill pattern.
STYLES = (
    ("#7a3e6b", "solid"),
    ("#1d4ed8", "hatch"),
    ("#166534", "dots"),
    ("#9a3412", "cross"),
    ("#374151", "solid"),
)


@dataclass(frozen=True)
class BarChart:
    key: str
    title: str
    summary: str
    svg: SafeString


def _fmt(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def _nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (the y axis's top)."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def _pattern_defs(key: str) -> str:
    defs = []
    for index, (colour, pattern) in enumerate(STYLES):
        pid = f"{key}-p{index}"
        if pattern == "hatch":
            body = f'<rect width="6" height="6" fill="#fff"/><path d="M0 6L6 0" stroke="{colour}" stroke-width="2.5"/>'
        elif pattern == "dots":
            body = f'<rect width="6" height="6" fill="{colour}"/><circle cx="3" cy="3" r="1.3" fill="#fff"/>'
        elif pattern == "cross":
            body = (
                f'<rect width="6" height="6" fill="#fff"/><path d="M0 3H6M3 0V6" stroke="{colour}" stroke-width="2"/>'
            )
        else:
            body = f'<rect width="6" height="6" fill="{colour}"/>'
        defs.append(f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">{body}</pattern>')
    return "<defs>" + "".join(defs) + "</defs>"


def bar_chart(
    *,
    key: str,
    title: str,
    summary: str,
    groups: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[float]],
    unit: str = "",
) -> BarChart:
    """A grouped bar chart: one group per label in `groups`, one bar per name in `series`;
    `values[g][s]` is the value of series `s` in group `g`. `unit` follows each figure in the
    bars' titles ("%", " USD"). Every interpolated text is escaped."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max((v for row in values for v in row), default=0))
    slot = plot_w / max(len(groups), 1)
    bar_w = max(min((slot * 0.8) / max(len(series), 1), 28), 1.5)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" class="report-chart">',
        f'<title id="{key}-title">{escape(title)}</title>',
        f'<desc id="{key}-desc">{escape(summary)}</desc>',
        _pattern_defs(key),
    ]
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{INK}">{_fmt(value)}</text>'
        )
    parts.append(f'<path d="M{LEFT} {TOP}V{TOP + plot_h}H{LEFT + plot_w}" fill="none" stroke="{MUTED}"/>')
    label_every = max(1, round(len(groups) / 12))  # at most about a dozen labels under the axis
    for g, label in enumerate(groups):
        start = LEFT + g * slot + (slot - bar_w * len(series)) / 2
        for s, name in enumerate(series):
            value = values[g][s] or 0
            height = plot_h * value / top
            x, y = start + s * bar_w, TOP + plot_h - height
            tip = f"{label}: {name} {_fmt(value)}{unit}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                f'fill="url(#{key}-p{s % len(STYLES)})" stroke="{STYLES[s % len(STYLES)][0]}" stroke-width="1">'
                f"<title>{escape(tip)}</title></rect>"
            )
        if g % label_every == 0:
            parts.append(
                f'<text x="{LEFT + g * slot + slot / 2:.1f}" y="{TOP + plot_h + 18}" font-size="11" '
                f'text-anchor="middle" fill="{INK}">{escape(label[:18])}</text>'
            )
    x = LEFT
    for s, name in enumerate(series):
        colour = STYLES[s % len(STYLES)][0]
        parts.append(
            f'<rect x="{x}" y="8" width="14" height="14" fill="url(#{key}-p{s % len(STYLES)})" stroke="{colour}"/>'
        )
        parts.append(f'<text x="{x + 20}" y="20" font-size="12" fill="{INK}">{escape(name)}</text>')
        x += 36 + 7 * len(name)
    parts.append("</svg>")
    # every interpolated text in the SVG is escaped or a number
    return BarChart(key=key, title=title, summary=summary, svg=mark_safe("".join(parts)))  # noqa: S308
