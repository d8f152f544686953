"""Lesson content rules: which HTML a slide may contain, how slides are split, which videos may play.

Slides are sanitised with nh3 (docs/adr/0040) both when staff save them and again when a
lesson is shown, so a row written by SQL or an old import is still rendered inert.
"""

from __future__ import annotations

import re

import nh3

from .models import video_url_is_allowed

SLIDE_TAGS = {
    "a", "abbr", "aside", "b", "blockquote", "br", "caption", "cite", "code", "dd", "div", "dl", "dt", "em",
    "figcaption", "figure", "h2", "h3", "h4", "h5", "hr", "i", "img", "li", "mark", "ol", "p", "pre", "q",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
SLIDE_ATTRIBUTES = {
    "*": {"class", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
SLIDE_URL_SCHEMES = {"http", "https", "mailto"}

# Staff may write one HTML document with this marker between slides.
SLIDE_SEPARATOR = "<!-- slide -->"
_SEPARATOR_RE = re.compile(r"<!--\s*slide\s*-->|<hr\s+class=[\"']slide-break[\"']\s*/?>", re.IGNORECASE)


def slide_clean(html: str) -> str:
    """The slide's HTML with everything outside the allow-list removed (no scripts, handlers, js: URLs)."""
    return nh3.clean(
        html or "",
        tags=SLIDE_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript"},
        attributes=SLIDE_ATTRIBUTES,
        url_schemes=SLIDE_URL_SCHEMES,
        link_rel="noopener noreferrer",
    ).strip()


def slides_from_html(document: str) -> list[str]:
    """Split one HTML document at slide separators; empty slides are dropped."""
    parts = _SEPARATOR_RE.split(document or "")
    return [part.strip() for part in parts if part.strip()]


def slides_to_html(slides: list[str]) -> str:
    return f"\n\n{SLIDE_SEPARATOR}\n\n".join(slides or [])


def slides_clean(slides) -> list[str]:
    """A clean list of slides from a stored value (a list of strings, or one string with separators)."""
    if isinstance(slides, str):
        slides = slides_from_html(slides)
    if not isinstance(slides, list):
        return []
    cleaned = (slide_clean(slide) for slide in slides if isinstance(slide, str))
    return [slide for slide in cleaned if slide]


def video_embed_url(url: str) -> str | None:
    """The URL if it is an allow-listed YouTube/Vimeo embed address, else None."""
    url = (url or "").strip()
    return url if url and video_url_is_allowed(url) else None
