"""A simple SEO score for blog posts (seed 5: "SEO scores"), from rules an editor can act on."""

import re
from dataclasses import dataclass, field

from bloom.sanitize import html_to_text

TITLE_RANGE = (30, 60)
META_DESCRIPTION_RANGE = (120, 160)
MIN_WORDS = 300
_HEADING = re.compile(r"<h[2-4][\s>]", re.IGNORECASE)


@dataclass
class SeoReport:
    score: int = 0
    advice: list[str] = field(default_factory=list)


def _length_rule(report: SeoReport, text: str, bounds: tuple[int, int], advice: str) -> None:
    """25 points for a length within `bounds`; else 10 for any text, and `advice` ({low}, {high}) with the length."""
    low, high = bounds
    if low <= len(text) <= high:
        report.score += 25
    else:
        report.score += 10 if text else 0
        report.advice.append(f"{advice.format(low=low, high=high)} (now {len(text)}).")


def seo_evaluate(*, title: str, seo_title: str, meta_description: str, body: str) -> SeoReport:
    """Score 0-100 in four rules of 25 points: title length, meta description length,
    subheadings in the body, and enough words to be useful."""
    report = SeoReport()
    _length_rule(report, (seo_title or title).strip(), TITLE_RANGE, "Make the (SEO) title {low}-{high} characters long")
    _length_rule(
        report, meta_description.strip(), META_DESCRIPTION_RANGE, "Write a meta description of {low}-{high} characters"
    )

    if _HEADING.search(body or ""):
        report.score += 25
    else:
        report.advice.append("Break the body up with at least one subheading (h2-h4).")

    words = len(html_to_text(body).split())
    if words >= MIN_WORDS:
        report.score += 25
    else:
        report.score += 10 if words >= MIN_WORDS // 2 else 0
        report.advice.append(f"Aim for at least {MIN_WORDS} words (now {words}).")
    return report
