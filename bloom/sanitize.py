"""One HTML sanitiser (nh3) with a named policy for each kind of staff-written HTML.

Staff write HTML in three places: lesson slides (docs/adr/0040), the public site's blog
posts and job postings (docs/adr/0071), and newsletter email. Each has its own allow-list,
kept here side by side. Cleaning runs when staff save and again when a page renders, so a
row written some other way (SQL, an import) still cannot put script in front of a reader.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3

# Tags whose content must go too (the text of a script is not prose).
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template"})

# The tags every policy allows: prose, lists, links, images, tables, quotes, h2-h4.
PROSE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "div", "dl", "dt", "em", "figcaption",
    "figure", "h2", "h3", "h4", "hr", "i", "img", "li", "ol", "p", "pre", "q", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
})  # fmt: skip

_TABLE_ATTRIBUTES = {
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}


@dataclass(frozen=True)
class Policy:
    """What one kind of HTML may keep: tags, attributes per tag, URL schemes, and the rel links get."""

    name: str
    tags: frozenset[str]
    attributes: dict[str, set[str]]
    url_schemes: frozenset[str]
    link_rel: str


# Lesson slides: asides, highlights and h5, classes and language for the slide player's styles;
# no rel=nofollow (links point at the practice's own resources).
LESSON = Policy(
    name="lesson",
    tags=PROSE_TAGS | {"aside", "h5", "mark"},
    attributes={
        "*": {"class", "lang", "title"},
        "a": {"href"},
        "img": {"src", "alt", "width", "height"},
        **_TABLE_ATTRIBUTES,
    },
    url_schemes=frozenset({"http", "https", "mailto"}),
    link_rel="noopener noreferrer",
)

# Blog posts and job postings on the public site (also strike-through, `tel:` links, cite and
# hreflang); the page has its own h1 (the title).
BLOG = Policy(
    name="blog",
    tags=PROSE_TAGS | {"s"},
    attributes={
        "a": {"href", "title", "hreflang"},
        "abbr": {"title"},
        "img": {"src", "alt", "title", "width", "height"},
        "blockquote": {"cite"},
        "q": {"cite"},
        **_TABLE_ATTRIBUTES,
    },
    url_schemes=frozenset({"http", "https", "mailto", "tel"}),
    link_rel="noopener noreferrer nofollow",
)

# Newsletter email: the blog's allow-list, plus h1, since an email body has no page title
# around it and carries its own headings from h1 down.
EMAIL = Policy(
    name="email",
    tags=BLOG.tags | {"h1"},
    attributes=BLOG.attributes,
    url_schemes=BLOG.url_schemes,
    link_rel=BLOG.link_rel,
)


POLICIES = {policy.name: policy for policy in (LESSON, BLOG, EMAIL)}


def sanitize_html(value: str | None, policy: Policy) -> str:
    """`value` with only the tags, attributes and URL schemes `policy` allows ("" for none)."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=set(policy.tags),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes=policy.attributes,
        url_schemes=set(policy.url_schemes),
        link_rel=policy.link_rel,
    )


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment (for word counts and text email bodies)."""
    if not value:
        return ""
    spaced = _BLOCK_END.sub(lambda match: match.group(0) + "\n", value)
    text = nh3.clean(spaced, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
    return html.unescape(text).strip()


_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|div|tr)>|<br\s*/?>", re.IGNORECASE)
