"""Lesson content rules: which HTML a slide may contain, how slides are split, which videos may play.

Slides are sanitised under bloom.sanitize's lesson policy (docs/adr/0040) both when staff save them and again when a
lesson is shown, so a row written by SQL or an old import is still rendered inert.
"""

from __future__ import annotations

import re

from bloom.sanitize import LESSON, sanitize_html

from .models import video_url_is_allowed

# Staff may write one HTML document with this marker between slides.
SLIDE_SEPARATOR = "<!-- slide -->"
_SEPARATOR_RE = re.compile(r"<!--\s*slide\s*-->|<hr\s+class=[\"']slide-break[\"']\s*/?>", re.IGNORECASE)


def slide_clean(html: str) -> str:
    """The slide's HTML with everything outside the lesson policy removed (no scripts, handlers, js: URLs)."""
    return sanitize_html(html, LESSON).strip()


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
