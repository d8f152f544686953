"""Campaign merge tags: a small, fixed set of `{{ name }}` placeholders with optional fallbacks.

Staff write `{{ first_name|default:"there" }}` in a campaign's subject, preheader or body.
This is not the Django template language: only the names in MERGE_TAGS and the one filter
`default` with a double-quoted text are understood, so staff-written text can never load
template libraries, include files or reach objects. `merge_tag_errors` says what is wrong
before a campaign is saved; `merge_tags_render` fills the tags in for one recipient (values
HTML-escaped when the text is HTML) and never raises: an unknown tag in a row written some
other way renders as nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.html import escape

# name -> what staff are told it holds
MERGE_TAGS = {
    "first_name": "the subscriber's first name (often empty: give a fallback)",
    "email": "the subscriber's email address",
    "unsubscribe_url": "their one-click unsubscribe link",
    "site_url": "the address of the Bloom website",
}

_TAG = re.compile(r"\{\{(?P<inner>.*?)\}\}", re.DOTALL)
_INNER = re.compile(r'^\s*(?P<name>[a-z_]+)\s*(?:\|\s*default\s*:\s*"(?P<fallback>[^"{}]*)"\s*)?$')
_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}")


def _available() -> str:
    return ", ".join(MERGE_TAGS)


def merge_tag_errors(text: str | None) -> list[str]:
    """Sentences naming each problem with the merge tags in `text` ([] when all is well)."""
    if not text:
        return []
    errors: list[str] = []
    for match in _TAG.finditer(text):
        typed = match.group(0)
        inner = _INNER.match(match.group("inner"))
        if inner is None:
            errors.append(
                f"“{typed}” is not a merge tag we understand. Write it like {{{{ first_name }}}} or "
                f'{{{{ first_name|default:"there" }}}}.'
            )
        elif inner.group("name") not in MERGE_TAGS:
            errors.append(f"“{typed}” names an unknown merge tag. You can use: {_available()}.")
    leftover = _STRAY.search(_TAG.sub("", text))
    if leftover is not None:
        errors.append(
            f"There is a stray “{leftover.group(0)}”: a merge tag opens with {{{{ and closes with }}}}, "
            "and {% … %} is not allowed."
        )
    return errors


def merge_tags_render(text: str | None, values: Mapping[str, str], *, html: bool) -> str:
    """`text` with every merge tag replaced by its value (or its fallback when the value is empty).

    Values are HTML-escaped when `html`; fallbacks were typed by staff into HTML already.
    """
    if not text:
        return ""

    def fill(match: re.Match) -> str:
        inner = _INNER.match(match.group("inner"))
        if inner is None or inner.group("name") not in MERGE_TAGS:
            return ""
        value = str(values.get(inner.group("name")) or "").strip()
        if not value:
            return inner.group("fallback") or ""
        return escape(value) if html else value

    return _TAG.sub(fill, text)
